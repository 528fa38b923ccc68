/**
 * `deno task kernel:extract [--tarball f.tar.xz | --dir tree] [--label name] [--out file]`
 *
 * With no arguments, reads Debian's linux-source-6.1 and linux-source-6.12 tarballs from /usr/src
 * and writes emulator/profiles/extracted/debian-<version>.json for each. Only the files the
 * extractor reads are unpacked (into a temporary directory, removed afterwards); the kernel source
 * is never copied into the project, only the facts with their file and line.
 */
import { extract, type Extraction, FILES, type SourceFiles } from "./kvm.ts";
import { SourceError } from "./sysreg.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const OUT_DIR = `${ROOT}emulator/profiles/extracted/`;

const DEBIAN = [
  { tarball: "/usr/src/linux-source-6.1.tar.xz", pkg: "linux-source-6.1" },
  { tarball: "/usr/src/linux-source-6.12.tar.xz", pkg: "linux-source-6.12" },
];

async function sha256(path: string): Promise<string> {
  const f = await Deno.open(path);
  const chunks: Uint8Array[] = [];
  for await (const c of f.readable) chunks.push(c);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new SourceError(cmd, new TextDecoder().decode(r.stderr).trim().split("\n")[0]);
  }
  return new TextDecoder().decode(r.stdout);
}

async function readTree(dir: string): Promise<SourceFiles> {
  const out = {} as SourceFiles;
  for (const [k, p] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    try {
      out[k] = await Deno.readTextFile(`${dir}/${p}`);
    } catch {
      throw new SourceError(`${dir}/${p}`, "missing from the source tree");
    }
  }
  return out;
}

async function fromTarball(tarball: string): Promise<{ files: SourceFiles; top: string }> {
  const first = (await run("sh", ["-c", `tar -tJf '${tarball}' | head -1`])).trim();
  const top = first.split("/")[0];
  const tmp = await Deno.makeTempDir({ prefix: "rollsafe-extract-" });
  try {
    await run("tar", [
      "-C",
      tmp,
      "-xJf",
      tarball,
      ...Object.values(FILES).map((p) => `${top}/${p}`),
    ]);
    return { files: await readTree(`${tmp}/${top}`), top };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function debianVersion(pkg: string): Promise<string | undefined> {
  try {
    return (await run("dpkg-query", ["-W", "-f=${Version}", pkg])).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function one(
  opts: { tarball?: string; dir?: string; label?: string; pkg?: string; out?: string },
) {
  const files = opts.tarball ? (await fromTarball(opts.tarball)).files : await readTree(opts.dir!);
  const facts = extract(files);
  const source: Record<string, string> = opts.tarball
    ? { tarball: opts.tarball, sha256: await sha256(opts.tarball) }
    : { dir: opts.dir! };
  if (opts.pkg) {
    source.package = opts.pkg;
    const v = await debianVersion(opts.pkg);
    if (v) source.packageVersion = v;
  }
  const label = opts.label ?? (opts.pkg ? `debian-${facts.kernel}` : `linux-${facts.kernel}`);
  const doc = {
    comment:
      "Facts extracted from the kernel source by emulator/profiles/extract (deno task kernel:extract); every fact names its file and line in that source. Regenerate, never edit by hand.",
    label,
    source,
    ...facts,
  };
  const out = opts.out ?? `${OUT_DIR}${label}.json`;
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(doc, null, 2) + "\n");
  // in the project's own format, so a regenerated file passes `deno fmt --check` unchanged
  await run(Deno.execPath(), ["fmt", "-q", out]);
  console.log(
    `${label}: ${facts.idRegisters.length} ID registers, ${facts.setterChecks.length} setter checks, ${
      Object.keys(facts.ftrBits).length
    } field tables, ${facts.firmware.regs.length} firmware registers, IIDR revisions ${
      facts.vgicIidr.v3.acceptedRevisions.join("/")
    } from ${facts.vgicIidr.v3.revisionFrom} -> ${out}`,
  );
  return { label, facts };
}

/**
 * emulator/profiles/extracted/idreg-fields.json: the architectural field names of every ID
 * register (the sysreg file of the newest kernel extracted), with the kernel's signedness
 * (S_ARM64_FTR_BITS in cpufeature.c, or a SignedEnum in sysreg). Small, so the engine loads it
 * instead of a whole extraction.
 */
async function writeFieldNames(x: { label: string; facts: Extraction }) {
  const regs: Record<string, (string | number)[][]> = {};
  for (const [reg, r] of Object.entries(x.facts.sysregFields.regs)) {
    const signed = new Set(
      (x.facts.ftrBits[reg] ?? []).filter((f) => f.signed).map((f) => f.field),
    );
    regs[reg] = r.fields.map(([name, hi, lo, s]) =>
      s || signed.has(name) ? [name, hi, lo, 1] : [name, hi, lo]
    );
  }
  regs.MIDR_EL1 = x.facts.midrFields.fields;
  const out = `${OUT_DIR}idreg-fields.json`;
  await Deno.writeTextFile(
    out,
    JSON.stringify({
      comment:
        "ID-register fields by their architectural names: [name, hi, lo, signed?]. Generated by deno task kernel:extract from the named extraction; regenerate, never edit by hand.",
      from:
        `${x.label}: arch/arm64/tools/sysreg (names, positions), arch/arm64/kernel/cpufeature.c (signed fields), arch/arm64/include/asm/cputype.h (MIDR_EL1)`,
      regs,
    }) + "\n",
  );
  await run(Deno.execPath(), ["fmt", "-q", out]);
  console.log(`field names of ${Object.keys(regs).length} ID registers -> ${out}`);
}

if (import.meta.main) {
  const a = Deno.args;
  const opt = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  try {
    if (opt("--tarball") || opt("--dir")) {
      await one({
        tarball: opt("--tarball"),
        dir: opt("--dir"),
        label: opt("--label"),
        out: opt("--out"),
      });
    } else {
      const done = [];
      for (const d of DEBIAN) done.push(await one(d));
      await writeFieldNames(done.at(-1)!);
    }
  } catch (e) {
    if (e instanceof SourceError) {
      console.error(`kernel:extract: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
