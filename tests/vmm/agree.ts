/**
 * Prediction against reality for the VMM referee's cases (tests/fixtures/vmm/, written by
 * `deno task oracle vmm`): `rollsafe check <stream> --source debian-<A>@<host> --target
 * debian-<B>@<host> --vmm qemu` on the stream QEMU/KVM really saved, compared with what QEMU/KVM
 * really did with it on kernel B.
 *
 * Agreement means:
 *  1. restorable (exit 0/1) exactly when QEMU loaded the stream and the guest ran on;
 *  2. on a refusal, the verdict names QEMU's cause: the vmstate field QEMU failed to load
 *     ("Failed to load cpu:cpreg_vmstate_array_len" → `cpreg_vmstate_array_len`); or, when the
 *     cpu device's post_load failed ("error while loading state for instance 0x0 of device
 *     'cpu'", reported as "Operation not permitted": cpu_post_load returns -1 both when a saved
 *     register is not in the target's list and when KVM_SET_ONE_REG of a cpreg fails in
 *     write_list_to_kvmstate), a failed cpreg write or the VMM's cpreg_vmstate_indexes refusal;
 *  3. when the guest ran on, every value it saw change is named by a drift or reliance finding,
 *     and no finding calls breaking a value the guest read and saw unchanged.
 */
import { check, judgeAssessment } from "../../app/mod.ts";
import { renderJson } from "../../cli/render.ts";
import { readStream as readStreamFile } from "../../hostprobe/vmm/matrix.ts";

export const FIXTURES = new URL("../fixtures/vmm/", import.meta.url).pathname;
/** Disagreements known and owned (vmm_test.ts), beside the cases. */
export const KNOWN = "known-disagreements.json";

export interface VmmFixture {
  case: string;
  kind: string;
  guest: string;
  host: string;
  outer: { cpu: string; gic: 2 | 3 };
  source: { kernel: { kernel: string; package: string; version: string; release: string } };
  target: {
    kernel: { kernel: string; package: string; version: string; release: string };
    restore: { status: string; exit: number; stderr: string };
  };
  stream: { file: string; bytes: number; sha256: string };
  restored: boolean;
  observed: {
    before: Record<string, string>;
    after: Record<string, string>;
    changed: { name: string; before: string; after: string }[];
  };
}

export async function loadFixtures(): Promise<VmmFixture[]> {
  const out: VmmFixture[] = [];
  for (const e of Deno.readDirSync(FIXTURES)) {
    if (e.isFile && e.name.endsWith(".json") && e.name !== KNOWN) {
      out.push(JSON.parse(await Deno.readTextFile(`${FIXTURES}${e.name}`)));
    }
  }
  return out.sort((a, b) => a.case.localeCompare(b.case));
}

/** The stream QEMU saved for this case (gunzipped). */
export function readStream(f: VmmFixture): Promise<Uint8Array> {
  return readStreamFile(f.stream.file);
}

/**
 * What a guest observation is called in rollsafe's findings, when not by its own name: rows of
 * (guest name pattern, words any of which a finding's `what` or explanation must contain).
 */
const FINDING_NAMES: [RegExp, string[]][] = [
  [/^CCSIDR_/, ["CCSIDR"]],
  [/^(GICD|GICR)_IGROUPR/, ["IGROUPR", "interrupt group"]],
  [/^(GICD|GICR)_(ISENABLER|IPRIORITYR|ICFGR|ISPENDR|ITARGETSR)/, ["GICD_", "GICR_", "vGIC"]],
  [/^PSCI_/, ["PSCI"]],
  [/^SMCCC_ARCH_FEATURES\.WORKAROUND/, ["WORKAROUND", "SMCCC"]],
  [/^(SMCCC|TRNG|KVM_VENDOR)/, ["SMCCC", "BMAP", "hypercall"]],
  [/^CNTP_/, ["CNTP", "PTIMER", "physical timer"]],
  [/^CNTV_/, ["CNTV", "TIMER", "virtual timer"]],
  [/^AP[IDG][AB]?KEY/, ["KEY", "pointer auth", "pointer-auth"]],
  [/^(ZCR_EL1|SVE_VL)/, ["SVE", "ZCR"]],
];

export function findingWords(name: string): string[] {
  return FINDING_NAMES.find(([re]) => re.test(name))?.[1] ?? [name];
}

/** A drift finding (`what`: the register) or a reliance finding (`kind`: what is relied on). */
interface Finding {
  what?: string;
  kind?: string;
  severity: string;
  explanation?: string;
}

const findingName = (d: Finding) => d.what ?? d.kind ?? "?";
const findingText = (d: Finding) =>
  `${d.what ?? ""}\n${d.kind ?? ""}\n${d.explanation ?? ""}`.toLowerCase();

/** Does finding `d` name guest observation `name`? */
export function names(d: Finding, name: string): boolean {
  const text = findingText(d);
  return findingWords(name).some((w) => text.includes(w.toLowerCase()));
}

export interface Judged {
  fixture: VmmFixture;
  /** "ran" or "refused: <QEMU's first error line>" */
  qemu: string;
  /** What the guest saw change, `NAME before→after`. */
  changes: string[];
  /** The judge's label, the exit code, the first failures or the findings. */
  verdict: string;
  agrees: boolean;
  disagreements: string[];
}

const ERRNO: Record<string, string> = {
  "Invalid argument": "EINVAL",
  "No such file or directory": "ENOENT",
  "Operation not permitted": "EPERM",
  "Device or resource busy": "EBUSY",
  "Numerical argument out of domain": "EDOM",
};

/**
 * QEMU's own words for the cause of a refused load: a vmstate field, the cpu device's post_load,
 * or a KVM errno.
 */
export function qemuCause(
  stderr: string,
): { field?: string; cpuPostLoad?: boolean; errno?: string; line: string } {
  const lines = stderr.split("\n").map((l) => l.replace(/^qemu-system-aarch64: /, "").trim())
    .filter((l) => l);
  const field = stderr.match(/Failed to load [\w-]+:([\w.\[\]]+)/)?.[1];
  const cpuPostLoad = !field && /error while loading state for instance 0x\w+ of device 'cpu'/
    .test(stderr);
  const errLine = lines.find((l) => /registers|KVM|kvm/.test(l));
  const errno = errLine
    ? Object.entries(ERRNO).find(([msg]) => errLine.includes(msg))?.[1]
    : undefined;
  return { field, cpuPostLoad, errno, line: lines.join(" / ") || "(no message)" };
}

/** KVM_REG_ARM_CORE (0x0010) and SVE (0x0015) registers are not in QEMU's cpreg list. */
const isCpreg = (id: string | undefined) =>
  id !== undefined && ![0x10n, 0x15n].includes((BigInt(id) >> 16n) & 0xffffn);

/** Judge one case; `stream` is the saved stream when it is not (yet) a committed file. */
export async function judge(f: VmmFixture, stream?: Uint8Array): Promise<Judged> {
  const bytes = stream ?? await readStream(f);
  const checked = await check({
    bytes,
    targets: [`${f.target.kernel.kernel}@${f.host}`],
    source: `${f.source.kernel.kernel}@${f.host}`,
    vmm: "qemu",
    profiles: [],
    hosts: [],
    probes: true,
  });
  const json = renderJson(checked.snapshot, checked.validation.targets, checked.validation.source);
  const t = json.targets[0] as unknown as {
    restorable: boolean;
    exit: number;
    operations: {
      op: string;
      id?: string;
      name: string;
      outcome: string;
      errno?: string;
      reason: string;
    }[];
    drift: Finding[];
    reliance: Finding[];
    notes: string[];
  };
  const findings = [...t.drift, ...t.reliance];
  const failed = t.operations.filter((o) => o.outcome === "failed");
  const disagreements: string[] = [];
  const changes = f.observed.changed.map((c) => `${c.name} ${c.before}→${c.after}`);
  const cause = qemuCause(f.target.restore.stderr ?? "");
  const qemu = f.restored ? "ran" : `refused: ${cause.line}`;

  if (t.restorable !== f.restored) {
    disagreements.push(
      `rollsafe says ${t.restorable ? "restorable" : "not restorable"}, QEMU ${qemu}`,
    );
  }
  if (!f.restored && !t.restorable) {
    const text = [...failed.map((o) => `${o.name} ${o.reason}`), ...t.notes].join("\n");
    if (cause.field && !text.includes(cause.field.replace(/^.*:/, ""))) {
      disagreements.push(`QEMU refused at ${cause.field}; the verdict does not name it`);
    }
    // QEMU's own numbers (saved cpreg list length against the target's) must be the verdict's
    const counts = cause.line.match(/Invalid value \d+ expecting positive value <= \d+/)?.[0];
    if (counts && !text.includes(counts)) {
      disagreements.push(`QEMU said "${counts}"; the verdict does not`);
    }
    if (
      cause.cpuPostLoad &&
      !failed.some((o) =>
        o.name === "cpreg_vmstate_indexes" || (o.op === "KVM_SET_ONE_REG" && isCpreg(o.id))
      )
    ) {
      disagreements.push(
        "QEMU's cpu post_load failed; the verdict has neither a cpreg list refusal nor a failed cpreg write",
      );
    }
    if (!cause.field && cause.errno && !failed.some((o) => o.errno === cause.errno)) {
      disagreements.push(`QEMU got ${cause.errno} from KVM; no operation fails with it`);
    }
  }
  if (f.restored) {
    for (const c of f.observed.changed) {
      if (!findings.some((d) => names(d, c.name))) {
        disagreements.push(
          `the guest saw ${c.name} change (${c.before}→${c.after}); no finding names it`,
        );
      }
    }
    // A breaking finding about what the guest read must match a change the guest saw.
    const changed = new Set(f.observed.changed.map((c) => c.name));
    for (const d of findings.filter((d) => d.severity === "breaking")) {
      const read = Object.keys(f.observed.after).filter((n) => names(d, n));
      if (read.length && !read.some((n) => changed.has(n))) {
        disagreements.push(
          `breaking ${findingName(d)}, but the guest saw ${read.join(", ")} unchanged`,
        );
      }
    }
  }
  const label = judgeAssessment(checked.validation.targets[0]).label;
  const shown = findings.map((d) => `${d.severity} ${findingName(d)}`).join(", ");
  const verdict = t.restorable
    ? `${label} (exit ${t.exit})${shown ? `: ${shown}` : ""}`
    : `${label} (exit ${t.exit}): ${
      failed.slice(0, 3).map((o) => `${o.name} ${o.errno ?? ""}`.trim()).join(", ")
    }${failed.length > 3 ? `, … (${failed.length} failed)` : ""}`;
  return { fixture: f, qemu, changes, verdict, agrees: !disagreements.length, disagreements };
}
