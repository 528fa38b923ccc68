/**
 * The ledger: uploaded snapshots, the signed verdicts issued for them, and the webhook
 * deliveries already processed. One interface, two stores: node:sqlite embedded (sqlite.ts, the
 * default) and PostgreSQL for shared deployments (postgres.ts, when DATABASE_URL is set).
 *
 * Everything is insert-once: a row is never updated or deleted, so a ledger entry can only be
 * added to. Verdicts are kept as their COSE_Sign1 bytes, which verify on their own; the ledger
 * needs no trust of its own. A verdict is indexed under the snapshot
 * digest and each target id it covers; several verdicts for the same pair (re-checks, new nonces)
 * are all kept, in issue order.
 *
 * Digests are lower-case hex SHA-256 of the exact bytes (snapshots as uploaded, verdicts as
 * signed).
 */

export interface StoredSnapshot {
  sha256: string;
  /** The Content-Type it was uploaded with (the importer hint when it is re-read). */
  contentType: string;
  bytes: Uint8Array;
  /** Seconds since the Unix epoch. */
  storedAt: number;
}

export interface VerdictRecord {
  /** SHA-256 of the COSE_Sign1 bytes. */
  sha256: string;
  snapshot: string;
  /** Target ids the verdict covers, in verdict order. */
  targets: string[];
  /** Overall status of the verdict ("pass" | "warn" | "fail"). */
  status: string;
  issuedAt: number;
  cose: Uint8Array;
}

export interface Ledger {
  /** Which store: "sqlite" or "postgres", and where (path or host, never a password). */
  readonly describe: string;
  /** Stores a snapshot once; true if it was new. */
  putSnapshot(s: StoredSnapshot): Promise<boolean>;
  getSnapshot(sha256: string): Promise<StoredSnapshot | undefined>;
  /** Stores a verdict once (by its digest) and indexes it by snapshot and target; true if new. */
  putVerdict(v: VerdictRecord): Promise<boolean>;
  /** Verdicts for a snapshot, oldest first; optionally only those covering `target`. */
  verdicts(snapshot: string, target?: string): Promise<VerdictRecord[]>;
  /**
   * Claims a webhook delivery id for `source` ("github", "standard"); false if it was claimed
   * before, i.e. this delivery is a replay.
   */
  claimDelivery(source: string, id: string, receivedAt: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The store failed (connection lost, disk full, locked): the service answers 503, not 500. */
export class LedgerError extends Error {
  override name = "LedgerError";
  /** Which store (`Ledger.describe`): for the operator's log, not for clients. */
  constructor(message: string, readonly store: string) {
    super(message);
  }
}

/** Runs a store operation, turning any failure into a LedgerError naming the operation. */
export async function guard<T>(store: string, op: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new LedgerError(`${op} failed: ${(e as Error).message}`, store);
  }
}

/** Hex digest check shared by the adapters and the routes. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
