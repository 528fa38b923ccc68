/**
 * The embedded ledger on node:sqlite (built into Deno, no flag). One file under the data
 * directory, or ":memory:" where there is no file system. Writes are `INSERT … ON CONFLICT DO
 * NOTHING`: the first row for a key stays, which is the insert-once rule of ledger/mod.ts.
 */
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  guard,
  type Lease,
  type Ledger,
  type Page,
  pageLimit,
  type StoredSnapshot,
  type VerdictRecord,
} from "./mod.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshots (
  sha256 TEXT PRIMARY KEY,
  content_type TEXT NOT NULL,
  bytes BLOB NOT NULL,
  stored_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS verdicts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sha256 TEXT NOT NULL UNIQUE,
  snapshot TEXT NOT NULL,
  targets TEXT NOT NULL,
  status TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  cose BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS verdict_targets (
  snapshot TEXT NOT NULL,
  target TEXT NOT NULL,
  verdict TEXT NOT NULL REFERENCES verdicts(sha256),
  PRIMARY KEY (snapshot, target, verdict)
) STRICT;
CREATE TABLE IF NOT EXISTS deliveries (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (source, id)
) STRICT;
CREATE TABLE IF NOT EXISTS delivery_leases (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  token TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (source, id)
) STRICT;
`;

interface VerdictRow {
  sha256: string;
  snapshot: string;
  targets: string;
  status: string;
  issued_at: number;
  cose: Uint8Array;
}

function toRecord(r: VerdictRow): VerdictRecord {
  return {
    sha256: r.sha256,
    snapshot: r.snapshot,
    targets: JSON.parse(r.targets),
    status: r.status,
    issuedAt: Number(r.issued_at),
    cose: new Uint8Array(r.cose),
  };
}

/** The node:sqlite error's code without its text, which may quote the file's path. */
function openFailure(what: string, e: unknown): Error {
  const code = (e as { code?: unknown }).code;
  return new Error(`${what} failed${typeof code === "string" ? ` (${code})` : ""}`);
}

export class SqliteLedger implements Ledger {
  /** What clients may see (/healthz): the store, never its file-system path. */
  readonly describe: string;
  /** For the operator's log (LedgerError.store): the path too. */
  #where: string;
  #db: DatabaseSync;

  constructor(path: string) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw openFailure("creating the ledger directory", e);
    }
    try {
      this.#db = new DatabaseSync(path);
      // WAL lets readers proceed while a verdict is written; busy_timeout covers two processes
      // (e.g. `deno serve --parallel` workers) writing the same file.
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;");
      this.#db.exec(SCHEMA);
    } catch (e) {
      throw openFailure("opening the ledger file", e);
    }
    this.describe = path === ":memory:" ? "sqlite (in memory)" : "sqlite (file)";
    this.#where = `sqlite ${path}`;
  }

  putSnapshot(s: StoredSnapshot): Promise<boolean> {
    return guard(this.#where, "storing a snapshot", () => {
      const r = this.#db.prepare(
        "INSERT INTO snapshots (sha256, content_type, bytes, stored_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT DO NOTHING",
      ).run(s.sha256, s.contentType, s.bytes, s.storedAt);
      return Number(r.changes) === 1;
    });
  }

  getSnapshot(sha256: string): Promise<StoredSnapshot | undefined> {
    return guard(this.#where, "reading a snapshot", () => this.#getSnapshot(sha256));
  }

  hasSnapshot(sha256: string): Promise<boolean> {
    return guard(
      this.#where,
      "reading a snapshot",
      () => this.#db.prepare("SELECT 1 FROM snapshots WHERE sha256 = ?").get(sha256) !== undefined,
    );
  }

  #getSnapshot(sha256: string): StoredSnapshot | undefined {
    const r = this.#db.prepare(
      "SELECT sha256, content_type, bytes, stored_at FROM snapshots WHERE sha256 = ?",
    ).get(sha256) as
      | { sha256: string; content_type: string; bytes: Uint8Array; stored_at: number }
      | undefined;
    return r && {
      sha256: r.sha256,
      contentType: r.content_type,
      bytes: new Uint8Array(r.bytes),
      storedAt: Number(r.stored_at),
    };
  }

  putVerdict(v: VerdictRecord): Promise<boolean> {
    return guard(this.#where, "storing a verdict", () => this.#putVerdict(v));
  }

  #putVerdict(v: VerdictRecord): boolean {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      const r = db.prepare(
        "INSERT INTO verdicts (sha256, snapshot, targets, status, issued_at, cose) " +
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ).run(v.sha256, v.snapshot, JSON.stringify(v.targets), v.status, v.issuedAt, v.cose);
      const index = db.prepare(
        "INSERT INTO verdict_targets (snapshot, target, verdict) VALUES (?, ?, ?) " +
          "ON CONFLICT DO NOTHING",
      );
      for (const t of v.targets) index.run(v.snapshot, t, v.sha256);
      db.exec("COMMIT");
      return Number(r.changes) === 1;
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }

  verdicts(snapshot: string, target?: string, page?: Page): Promise<VerdictRecord[]> {
    return guard(this.#where, "listing verdicts", () => this.#verdicts(snapshot, target, page));
  }

  #verdicts(snapshot: string, target: string | undefined, page: Page | undefined): VerdictRecord[] {
    // The cursor is a verdict digest; its seq (UNIQUE index) is where the page starts. An
    // unknown cursor gives NULL, and `seq > NULL` selects nothing.
    const after = page?.after === undefined
      ? "0"
      : "(SELECT seq FROM verdicts WHERE sha256 = ? AND snapshot = ?)";
    const cursor = page?.after === undefined ? [] : [page.after, snapshot];
    const limit = pageLimit(page);
    const rows = target === undefined
      ? this.#db.prepare(
        "SELECT sha256, snapshot, targets, status, issued_at, cose FROM verdicts " +
          `WHERE snapshot = ? AND seq > ${after} ORDER BY seq LIMIT ?`,
      ).all(snapshot, ...cursor, limit)
      : this.#db.prepare(
        "SELECT v.sha256, v.snapshot, v.targets, v.status, v.issued_at, v.cose " +
          "FROM verdicts v JOIN verdict_targets t ON t.verdict = v.sha256 " +
          `WHERE t.snapshot = ? AND t.target = ? AND v.seq > ${after} ORDER BY v.seq LIMIT ?`,
      ).all(snapshot, target, ...cursor, limit);
    return (rows as unknown as VerdictRow[]).map(toRecord);
  }

  claimDelivery(source: string, id: string, receivedAt: number): Promise<boolean> {
    return guard(this.#where, "claiming a delivery", () => {
      const r = this.#db.prepare(
        "INSERT INTO deliveries (source, id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      ).run(source, id, receivedAt);
      return Number(r.changes) === 1;
    });
  }

  leaseDelivery(source: string, id: string, now: number, seconds: number): Promise<Lease> {
    return guard(this.#where, "leasing a delivery", () => {
      const db = this.#db;
      db.exec("BEGIN IMMEDIATE");
      try {
        const lease = this.#lease(source, id, now, seconds);
        db.exec("COMMIT");
        return lease;
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
    });
  }

  #lease(source: string, id: string, now: number, seconds: number): Lease {
    const db = this.#db;
    const done = db.prepare("SELECT 1 FROM deliveries WHERE source = ? AND id = ?").get(source, id);
    if (done !== undefined) return { state: "done" };
    const held = db.prepare(
      "SELECT expires_at FROM delivery_leases WHERE source = ? AND id = ?",
    ).get(source, id) as { expires_at: number } | undefined;
    if (held !== undefined && Number(held.expires_at) > now) {
      return { state: "busy", until: Number(held.expires_at) };
    }
    const token = crypto.randomUUID();
    db.prepare(
      "INSERT INTO delivery_leases (source, id, token, expires_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (source, id) DO UPDATE SET token = excluded.token, " +
        "expires_at = excluded.expires_at",
    ).run(source, id, token, now + seconds);
    return { state: "leased", token };
  }

  endLease(source: string, id: string, token: string, done: boolean, now: number): Promise<void> {
    return guard(this.#where, done ? "recording a delivery" : "releasing a delivery", () => {
      const db = this.#db;
      db.exec("BEGIN IMMEDIATE");
      try {
        // Only the lease's holder ends it; a stale token (its lease expired and was taken
        // over) records nothing.
        const held = db.prepare(
          "DELETE FROM delivery_leases WHERE source = ? AND id = ? AND token = ?",
        ).run(source, id, token);
        if (done && Number(held.changes) === 1) {
          db.prepare(
            "INSERT INTO deliveries (source, id, received_at) VALUES (?, ?, ?) " +
              "ON CONFLICT DO NOTHING",
          ).run(source, id, now);
        }
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
    });
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}
