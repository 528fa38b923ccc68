/**
 * What a webhook delivery asks for, once its signature has verified: snapshots already uploaded
 * (by SHA-256, see POST /v1/snapshots) and the targets to check each of them against.
 *
 *   { "snapshots": ["<sha256>", …], "targets": ["<profile>@<host>", …],
 *     "vmm": "firecracker", "nonce": "run-1234" }            (vmm, nonce optional)
 *
 * GitHub carries it as the `client_payload` of a repository_dispatch event (POST
 * /repos/{owner}/{repo}/dispatches) or the `payload` of a deployment event; Standard Webhooks
 * as the `data` of a message of type "rollsafe.check". Errors name the JSON path.
 */
import { Problem } from "../problem.ts";
import { SHA256_HEX } from "../ledger/mod.ts";
import { TARGET_PATTERN } from "../route.ts";

export interface HookRequest {
  /** JSON path of the request object in the delivery, for error messages. */
  where: string;
  snapshots: string[];
  targets: string[];
  vmm?: string;
  nonce?: string;
}

const TARGET = new RegExp(TARGET_PATTERN);
const VMM = /^[a-z0-9-]{1,32}$/;

function bad(where: string, why: string): never {
  throw new Problem("invalid-hook-payload", `${where}: ${why}`, { where });
}

function strings(v: unknown, where: string, re: RegExp, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0) bad(where, `expected a non-empty array of ${what}`);
  return v.map((x, i) => {
    if (typeof x !== "string" || !re.test(x)) bad(`${where}[${i}]`, `expected ${what}`);
    return x;
  });
}

/** Reads the request object found at `where` in the delivery. */
export function parseHookRequest(v: unknown, where: string): HookRequest {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(where, "expected an object");
  const o = v as Record<string, unknown>;
  const out: HookRequest = {
    where,
    snapshots: strings(o.snapshots, `${where}.snapshots`, SHA256_HEX, "lower-case hex SHA-256"),
    targets: strings(
      o.targets,
      `${where}.targets`,
      TARGET,
      "target ids such as linux-6.1@neoverse-n1",
    ),
  };
  if (o.vmm !== undefined) {
    if (typeof o.vmm !== "string" || !VMM.test(o.vmm)) bad(`${where}.vmm`, "expected a VMM name");
    out.vmm = o.vmm;
  }
  if (o.nonce !== undefined) {
    if (typeof o.nonce !== "string" || o.nonce.length > 128) {
      bad(`${where}.nonce`, "expected text of at most 128 characters");
    }
    out.nonce = o.nonce;
  }
  return out;
}

/** JSON.parse of a delivery body, as a 422 problem when it is not JSON. */
export function parseJsonBody(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    return bad("$", `not UTF-8 JSON: ${(e as Error).message}`);
  }
}

/**
 * Where a GitHub event carries the request: repository_dispatch's client_payload, a
 * deployment's payload. Undefined for events that carry none (they are acknowledged, not run).
 */
export function githubRequest(event: string, doc: unknown): HookRequest | undefined {
  const o = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  if (event === "repository_dispatch") {
    return parseHookRequest(o.client_payload, "$.client_payload");
  }
  if (event === "deployment") {
    const d = (o.deployment ?? {}) as Record<string, unknown>;
    return parseHookRequest(d.payload, "$.deployment.payload");
  }
  return undefined;
}

/** The message type a Standard Webhooks delivery must have to be run. */
export const STANDARD_TYPE = "rollsafe.check";

export function standardRequest(doc: unknown): HookRequest {
  const o = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  if (o.type !== STANDARD_TYPE) bad("$.type", `expected "${STANDARD_TYPE}"`);
  return parseHookRequest(o.data, "$.data");
}
