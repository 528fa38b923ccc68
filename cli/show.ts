/**
 * `rollsafe show <verdict.cose> [--json | --statement | --dsse]`: reads a signed verdict without
 * the snapshot, offline. The signature is NOT checked here (that is `rollsafe verify`, which also
 * needs the snapshot and trusted keys); the output says so.
 *
 * `--statement` prints the in-toto Statement (test-result predicate) the verdict maps to;
 * `--dsse` wraps it in a DSSE envelope signed with the configured key, and only when that key is
 * the one that signed the verdict (same kid), so the envelope never attests a verdict under a
 * different signer's name.
 */
import { EXIT } from "./exit.ts";
import { type CommandSpec, type ParsedArgs, UsageError } from "./args.ts";
import { readInput } from "./io.ts";
import { groupProblems, ranges } from "./render.ts";
import {
  CoseError,
  decodeVerdict,
  loadSigner,
  parseSign1,
  type Verdict,
  VerdictError,
  verdictToJSON,
} from "../verdict/mod.ts";
import { toDsse, toStatement } from "../verdict/dsse.ts";
import { toHex } from "../verdict/bytes.ts";

/** The verdict as text: summary, per-target status, problems grouped by rule, findings. */
export function renderVerdict(v: Verdict, kid: string): string {
  const hex = toHex(v.snapshot.sha256);
  const lines = [
    `verdict ${v.summary.status.toUpperCase()}: ${v.summary.restorable} of ${v.summary.targets} target(s) restorable`,
    `  snapshot  sha256 ${hex} (${v.snapshot.size} bytes)`,
    `  source    ${v.source.profile.id}@${v.source.host.id}, VMM ${v.vmm}`,
    `  issued    ${new Date(v.issued_at * 1000).toISOString()}${
      v.nonce !== undefined ? `, nonce ${v.nonce}` : ""
    }`,
    `  engine    ${v.engine.version}${v.engine.git_revision ? ` (${v.engine.git_revision})` : ""}`,
    `  signed by ${kid}${
      v.dev_key ? " (a DEVELOPMENT key: verify refuses it without --accept-dev-key)" : ""
    }; signature not checked here: use rollsafe verify`,
  ];
  for (const t of v.targets) {
    lines.push(
      "",
      `target ${t.id}: ${t.status} (${
        t.restorable ? "restorable" : "NOT restorable"
      }; ${t.checked} operations checked)`,
    );
    for (const g of groupProblems(t.operations)) {
      const o = g.first;
      const names = [...new Set(g.ops.map((x) => x.name))];
      const vcpus = g.ops.flatMap((x) => x.vcpu === undefined ? [] : [x.vcpu]);
      lines.push(
        `  ${o.outcome.toUpperCase().padEnd(7)} ${(o.errno ?? "").padEnd(6)} ${
          g.ops.length > 1 ? `×${g.ops.length} ` : ""
        }${names.slice(0, 8).join(", ")}${names.length > 8 ? ", …" : ""}${
          vcpus.length ? ` (vCPU ${ranges(vcpus)})` : ""
        }`,
        `                 ${o.reason}${
          o.source ? ` [${o.source.cite}; ${o.source.confidence}]` : ""
        }`,
      );
    }
    for (const d of t.drift) {
      lines.push(`  drift ${d.severity.padEnd(8)} ${d.what}: ${d.source} → ${d.target}`);
    }
    for (const r of t.reliance) {
      lines.push(`  relies ${r.severity.padEnd(8)} ${r.kind}: ${r.explanation}`);
    }
  }
  return lines.join("\n");
}

async function run(p: ParsedArgs): Promise<number> {
  const modes = ["json", "statement", "dsse"].filter((m) => p.flags.has(m));
  if (modes.length > 1) throw new UsageError(`--${modes.join(" and --")}: choose one`);
  const bytes = await readInput(p.positionals[0], "verdict");
  let v: Verdict;
  let kid: string;
  try {
    const sign1 = parseSign1(bytes);
    kid = new TextDecoder().decode(sign1.kid);
    v = decodeVerdict(sign1.payload);
  } catch (e) {
    if (e instanceof CoseError || e instanceof VerdictError) {
      console.error(`rollsafe show: ${p.positionals[0]} is not a rollsafe verdict: ${e.message}`);
      return EXIT.BAD_INPUT;
    }
    throw e;
  }
  if (p.flags.has("json")) {
    console.log(JSON.stringify({ kid, verdict: verdictToJSON(v) }, null, 2));
  } else if (p.flags.has("statement")) {
    console.log(JSON.stringify(toStatement(v, { dev: v.dev_key }), null, 2));
  } else if (p.flags.has("dsse")) {
    const signer = await loadSigner();
    if (signer.kid !== kid) {
      throw new UsageError(
        `--dsse: the configured key is ${signer.kid} but the verdict was signed by ${kid}; set ROLLSAFE_SIGNING_KEY_FILE to the key that signed it (or use --statement for the unsigned statement)`,
      );
    }
    console.log(JSON.stringify(await toDsse(v, signer), null, 2));
  } else {
    console.log(renderVerdict(v, kid));
  }
  return EXIT.OK;
}

export const showCommand: CommandSpec = {
  name: "show",
  summary: "read a signed verdict offline, or export it as an in-toto statement / DSSE envelope",
  args: [{ name: "<verdict.cose>", help: "the COSE_Sign1 verdict (- for stdin)" }],
  options: [
    { name: "json", help: "the decoded verdict as JSON" },
    { name: "statement", help: "the in-toto Statement (test-result predicate) as JSON" },
    {
      name: "dsse",
      help:
        "the statement in a DSSE envelope, signed with the configured key (must be the verdict's signer)",
    },
  ],
  examples: [
    "rollsafe show verdict.cose",
    "rollsafe show verdict.cose --statement",
    "ROLLSAFE_SIGNING_KEY_FILE=key.pem rollsafe show verdict.cose --dsse > verdict.dsse.json",
  ],
  run: async (p) => {
    try {
      return await run(p);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      console.error(`rollsafe show: ${e.message}`);
      return EXIT.BAD_INPUT;
    }
  },
};
