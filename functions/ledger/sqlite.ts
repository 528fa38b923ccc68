/**
 * The embedded ledger on node:sqlite (built into Deno, no flag). One file under the data
 * directory, or ":memory:" where there is no file system. Writes are `INSERT … ON CONFLICT DO
 * NOTHING`: the first row for a key stays, which is the insert-once rule of ledger/mod.ts.
 */
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { guard, type Ledger, type StoredSnapshot, type VerdictRecord } from "./mod.ts";

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

export class SqliteLedger implements Ledger {
  readonly describe: string;
  #db: DatabaseSync;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.#db = new DatabaseSync(path);
    // WAL lets readers proceed while a verdict is written; busy_timeout covers two processes
    // (e.g. `deno serve --parallel` workers) writing the same file.
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;");
    this.#db.exec(SCHEMA);
    this.describe = `sqlite ${path}`;
  }

  putSnapshot(s: StoredSnapshot): Promise<boolean> {
    return guard(this.describe, "storing a snapshot", () => {
      const r = this.#db.prepare(
        "INSERT INTO snapshots (sha256, content_type, bytes, stored_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT DO NOTHING",
      ).run(s.sha256, s.contentType, s.bytes, s.storedAt);
      return Number(r.changes) === 1;
    });
  }

  getSnapshot(sha256: string): Promise<StoredSnapshot | undefined> {
    return guard(this.describe, "reading a snapshot", () => this.#getSnapshot(sha256));
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
    return guard(this.describe, "storing a verdict", () => this.#putVerdict(v));
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

  verdicts(snapshot: string, target?: string): Promise<VerdictRecord[]> {
    return guard(this.describe, "listing verdicts", () => this.#verdicts(snapshot, target));
  }

  #verdicts(snapshot: string, target?: string): VerdictRecord[] {
    const rows = target === undefined
      ? this.#db.prepare(
        "SELECT sha256, snapshot, targets, status, issued_at, cose FROM verdicts " +
          "WHERE snapshot = ? ORDER BY seq",
      ).all(snapshot)
      : this.#db.prepare(
        "SELECT v.sha256, v.snapshot, v.targets, v.status, v.issued_at, v.cose " +
          "FROM verdicts v JOIN verdict_targets t ON t.verdict = v.sha256 " +
          "WHERE t.snapshot = ? AND t.target = ? ORDER BY v.seq",
      ).all(snapshot, target);
    return (rows as unknown as VerdictRow[]).map(toRecord);
  }

  claimDelivery(source: string, id: string, receivedAt: number): Promise<boolean> {
    return guard(this.describe, "claiming a delivery", () => {
      const r = this.#db.prepare(
        "INSERT INTO deliveries (source, id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      ).run(source, id, receivedAt);
      return Number(r.changes) === 1;
    });
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}
