/**
 * The shared ledger on PostgreSQL (DATABASE_URL), through postgres.js (npm:postgres@3.4.9).
 * The same tables and the same insert-once rule as sqlite.ts, in PostgreSQL's dialect. Schema
 * creation is idempotent and serialised by an advisory lock, so several instances starting at
 * once against one database do not race on CREATE TABLE.
 */
import postgres from "postgres";
import {
  guard,
  type Lease,
  type Ledger,
  type Page,
  pageLimit,
  type StoredSnapshot,
  type VerdictRecord,
} from "./mod.ts";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS rollsafe_snapshots (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    stored_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollsafe_verdicts (
    seq BIGSERIAL PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    snapshot TEXT NOT NULL,
    targets JSONB NOT NULL,
    status TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    cose BYTEA NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollsafe_verdict_targets (
    snapshot TEXT NOT NULL,
    target TEXT NOT NULL,
    verdict TEXT NOT NULL REFERENCES rollsafe_verdicts(sha256),
    PRIMARY KEY (snapshot, target, verdict))`,
  `CREATE TABLE IF NOT EXISTS rollsafe_deliveries (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, id))`,
  `CREATE TABLE IF NOT EXISTS rollsafe_delivery_leases (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (source, id))`,
];

/** Arbitrary constant naming rollsafe's schema-migration advisory lock. */
const SCHEMA_LOCK = 0x726f6c6c;

type Sql = ReturnType<typeof postgres>;

interface VerdictRow {
  sha256: string;
  snapshot: string;
  targets: string[];
  status: string;
  issued_at: string | number;
  cose: Uint8Array;
}

function toRecord(r: VerdictRow): VerdictRecord {
  return {
    sha256: r.sha256,
    snapshot: r.snapshot,
    targets: r.targets,
    status: r.status,
    issuedAt: Number(r.issued_at),
    cose: new Uint8Array(r.cose),
  };
}

/** "postgres host:port/db" without credentials, for logs and /healthz. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "postgres (unparsable DATABASE_URL)";
  }
}

export class PostgresLedger implements Ledger {
  readonly describe: string;
  #sql: Sql;

  private constructor(sql: Sql, url: string) {
    this.#sql = sql;
    this.describe = redact(url);
  }

  /** Connects and creates the tables if needed. */
  static async open(url: string): Promise<PostgresLedger> {
    const sql = postgres(url, { max: 8, onnotice: () => {} });
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`;
      for (const stmt of SCHEMA) await tx.unsafe(stmt);
    });
    return new PostgresLedger(sql, url);
  }

  putSnapshot(s: StoredSnapshot): Promise<boolean> {
    return guard(this.describe, "storing a snapshot", async () => {
      const r = await this.#sql`
        INSERT INTO rollsafe_snapshots (sha256, content_type, bytes, stored_at)
        VALUES (${s.sha256}, ${s.contentType}, ${s.bytes}, ${s.storedAt})
        ON CONFLICT DO NOTHING`;
      return r.count === 1;
    });
  }

  getSnapshot(sha256: string): Promise<StoredSnapshot | undefined> {
    return guard(this.describe, "reading a snapshot", async () => {
      const [r] = await this.#sql<
        { sha256: string; content_type: string; bytes: Uint8Array; stored_at: string }[]
      >`SELECT sha256, content_type, bytes, stored_at FROM rollsafe_snapshots
        WHERE sha256 = ${sha256}`;
      return r && {
        sha256: r.sha256,
        contentType: r.content_type,
        bytes: new Uint8Array(r.bytes),
        storedAt: Number(r.stored_at),
      };
    });
  }

  hasSnapshot(sha256: string): Promise<boolean> {
    return guard(this.describe, "reading a snapshot", async () => {
      const r = await this.#sql`SELECT 1 FROM rollsafe_snapshots WHERE sha256 = ${sha256}`;
      return r.length > 0;
    });
  }

  putVerdict(v: VerdictRecord): Promise<boolean> {
    return guard(this.describe, "storing a verdict", async () => {
      return await this.#sql.begin(async (tx) => {
        const r = await tx`
          INSERT INTO rollsafe_verdicts (sha256, snapshot, targets, status, issued_at, cose)
          VALUES (${v.sha256}, ${v.snapshot}, ${tx.json(v.targets)}, ${v.status}, ${v.issuedAt},
                  ${v.cose})
          ON CONFLICT DO NOTHING`;
        for (const t of v.targets) {
          await tx`INSERT INTO rollsafe_verdict_targets (snapshot, target, verdict)
                   VALUES (${v.snapshot}, ${t}, ${v.sha256}) ON CONFLICT DO NOTHING`;
        }
        return r.count === 1;
      });
    });
  }

  verdicts(snapshot: string, target?: string, page?: Page): Promise<VerdictRecord[]> {
    return guard(this.describe, "listing verdicts", async () => {
      const limit = pageLimit(page);
      // The cursor is a verdict digest; an unknown one gives NULL and `seq > NULL` lists nothing.
      const after = page?.after === undefined
        ? this.#sql`0`
        : this.#sql`(SELECT seq FROM rollsafe_verdicts
                     WHERE sha256 = ${page.after} AND snapshot = ${snapshot})`;
      const rows = target === undefined
        ? await this.#sql<VerdictRow[]>`
          SELECT sha256, snapshot, targets, status, issued_at, cose FROM rollsafe_verdicts
          WHERE snapshot = ${snapshot} AND seq > ${after} ORDER BY seq LIMIT ${limit}`
        : await this.#sql<VerdictRow[]>`
          SELECT v.sha256, v.snapshot, v.targets, v.status, v.issued_at, v.cose
          FROM rollsafe_verdicts v JOIN rollsafe_verdict_targets t ON t.verdict = v.sha256
          WHERE t.snapshot = ${snapshot} AND t.target = ${target} AND v.seq > ${after}
          ORDER BY v.seq LIMIT ${limit}`;
      return rows.map(toRecord);
    });
  }

  claimDelivery(source: string, id: string, receivedAt: number): Promise<boolean> {
    return guard(this.describe, "claiming a delivery", async () => {
      const r = await this.#sql`
        INSERT INTO rollsafe_deliveries (source, id, received_at)
        VALUES (${source}, ${id}, ${receivedAt}) ON CONFLICT DO NOTHING`;
      return r.count === 1;
    });
  }

  leaseDelivery(source: string, id: string, now: number, seconds: number): Promise<Lease> {
    return guard(this.describe, "leasing a delivery", async () => {
      return await this.#sql.begin(async (tx): Promise<Lease> => {
        // Lease first, then look for a finished run: endLease drops the lease and records
        // "done" in one transaction, so a lease won after that commit sees the finished run.
        const token = crypto.randomUUID();
        const won = await tx`
          INSERT INTO rollsafe_delivery_leases (source, id, token, expires_at)
          VALUES (${source}, ${id}, ${token}, ${now + seconds})
          ON CONFLICT (source, id) DO UPDATE SET token = EXCLUDED.token,
            expires_at = EXCLUDED.expires_at
          WHERE rollsafe_delivery_leases.expires_at <= ${now}
          RETURNING token`;
        const done = await tx`
          SELECT 1 FROM rollsafe_deliveries WHERE source = ${source} AND id = ${id}`;
        if (done.length > 0) {
          if (won.length > 0) {
            await tx`DELETE FROM rollsafe_delivery_leases
                     WHERE source = ${source} AND id = ${id} AND token = ${token}`;
          }
          return { state: "done" };
        }
        if (won.length === 0) {
          const [held] = await tx<{ expires_at: string }[]>`
            SELECT expires_at FROM rollsafe_delivery_leases
            WHERE source = ${source} AND id = ${id}`;
          return { state: "busy", until: Number(held?.expires_at ?? now) };
        }
        return { state: "leased", token };
      });
    });
  }

  endLease(source: string, id: string, token: string, done: boolean, now: number): Promise<void> {
    return guard(
      this.describe,
      done ? "recording a delivery" : "releasing a delivery",
      async () => {
        await this.#sql.begin(async (tx) => {
          // Only the lease's holder ends it; a stale token (its lease expired and was taken
          // over) records nothing.
          const held = await tx`DELETE FROM rollsafe_delivery_leases
                 WHERE source = ${source} AND id = ${id} AND token = ${token}`;
          if (done && held.count === 1) {
            await tx`INSERT INTO rollsafe_deliveries (source, id, received_at)
                   VALUES (${source}, ${id}, ${now}) ON CONFLICT DO NOTHING`;
          }
        });
      },
    );
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
