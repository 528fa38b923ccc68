/**
 * What runs off the request thread: one row per kind of job, each the function a route would
 * otherwise call in place. functions/offload.ts runs them in a worker (or inline where there are
 * no workers); the worker's Services reach the ledger and the signing key through the main
 * thread, so a job is the same code either way.
 *
 * The pipeline the routes run is imported here once: moving to another pipeline (app/) is the
 * one import line below.
 */
import { type IssueInput, issueVerdict } from "./pipeline.ts";
import type { Services } from "./services.ts";
import { readSnapshot } from "./snapshot_input.ts";

export interface ImportInput {
  bytes: Uint8Array;
  contentType?: string;
}

export const JOBS = {
  /** POST /v1/verdicts and webhook runs: import, check, sign, record. */
  issue: (s: Services, input: IssueInput) => issueVerdict(s, input),
  /** POST /v1/snapshots: the upload must import before it is stored. */
  import: async (s: Services, input: ImportInput) => {
    const snap = await readSnapshot(input.bytes, input.contentType, s.config.limits.maxBodyBytes);
    return { vcpus: snap.vcpus.length };
  },
};

export type JobKind = keyof typeof JOBS;
export type JobInput<K extends JobKind> = Parameters<(typeof JOBS)[K]>[1];
export type JobOutput<K extends JobKind> = Awaited<ReturnType<(typeof JOBS)[K]>>;
