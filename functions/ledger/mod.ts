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
  /** Whether a snapshot is stored, without reading its bytes. */
  hasSnapshot(sha256: string): Promise<boolean>;
  /** Stores a verdict once (by its digest) and indexes it by snapshot and target; true if new. */
  putVerdict(v: VerdictRecord): Promise<boolean>;
  /**
   * Verdicts for a snapshot, oldest first; optionally only those covering `target`. At most
   * `page.limit` (default and cap MAX_PAGE) rows, starting after the verdict whose digest is
   * `page.after` (the cursor: the last digest of the previous page). An unknown cursor lists
   * nothing rather than everything.
   */
  verdicts(snapshot: string, target?: string, page?: Page): Promise<VerdictRecord[]>;
  /**
   * Records a webhook delivery id for `source` ("github", "standard") as processed; false if it
   * was recorded before, i.e. this delivery is a replay.
   */
  claimDelivery(source: string, id: string, receivedAt: number): Promise<boolean>;
  /**
   * Takes the right to run a delivery: "done" if it was processed before, "busy" while another
   * run holds an unexpired lease on it, else "leased" with the token that ends the lease. A
   * lease left by a run that died (process killed) expires after `seconds`, so the sender's
   * retry runs then.
   */
  leaseDelivery(source: string, id: string, now: number, seconds: number): Promise<Lease>;
  /**
   * Ends a lease. `done`: the run's verdicts are recorded, so the delivery is recorded as
   * processed (claimDelivery) in the same transaction; otherwise the lease is dropped and the
   * sender's retry runs.
   */
  endLease(source: string, id: string, token: string, done: boolean, now: number): Promise<void>;
  close(): Promise<void>;
}

/** A page of a listing: the cursor (the digest of the last row seen) and the page size. */
export interface Page {
  after?: string;
  limit?: number;
}

/** Largest page a listing returns, whatever the caller asks. */
export const MAX_PAGE = 100;

export function pageLimit(page?: Page): number {
  return Math.max(1, Math.min(MAX_PAGE, Math.floor(page?.limit ?? MAX_PAGE)));
}

export type Lease =
  | { state: "leased"; token: string }
  | { state: "done" }
  | { state: "busy"; until: number };

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
