/**
 * Debian's arm64 QEMU and busybox for the VMM referee's initramfs, fetched for real.
 *
 * `apt-get download qemu-system-arm:arm64 busybox-static:arm64`, then the shared-library closure
 * of /usr/bin/qemu-system-aarch64 is walked through the ELF NEEDED entries (the cross
 * `aarch64-linux-gnu-readelf`): a soname not found among the packages fetched so far is looked
 * for in the packages of Debian's `libs` section that the package owning the needing ELF
 * Depends on, which are downloaded then (one `apt-get download` for all of them). A soname that no
 * dependency provides is an error, never a silent omission. Every .deb is kept in
 * .oracle-cache/vmm/ with its exact version and SHA-256, which the fixtures record.
 */
import { CACHE_DIR, OracleError } from "../oracle.ts";
import { run, sha256Hex } from "./proc.ts";

export const VMM_CACHE = `${CACHE_DIR}/vmm`;
/** The packages asked for by name; libraries follow from the ELF walk. */
export const ROOT_PACKAGES = ["qemu-system-arm", "busybox-static"] as const;
export const QEMU_BINARY = "usr/bin/qemu-system-aarch64";
export const BUSYBOX_BINARY = "bin/busybox";
/** Where glibc's dynamic loader looks by default on Debian arm64. */
const LIB_DIRS = ["lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib", "usr/lib"];

export interface DebRecord {
  package: string;
  version: string;
  architecture: string;
  file: string;
  sha256: string;
}

/** A file for the initramfs: its path inside, and where its bytes are in the cache. */
export interface RootFile {
  path: string;
  source: string;
  /** The package it came from. */
  package: string;
}

export interface VmmPackages {
  debs: DebRecord[];
  /** QEMU, its interpreter and every library of the closure, then busybox. */
  files: RootFile[];
  qemuVersion: string;
}

async function debField(deb: string, name: string): Promise<string> {
  const r = await run("dpkg-deb", ["-f", deb, name], 60_000);
  if (r.code !== 0) throw new OracleError(`dpkg-deb -f ${deb} ${name}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The first alternative of each Depends/Pre-Depends entry, without version or arch. */
export function dependsNames(field: string): string[] {
  return field.split(",").map((e) => e.split("|")[0].trim().split(/[\s(:]/)[0]).filter((n) =>
    n.length
  );
}

function cachedDeb(pkg: string): string | undefined {
  try {
    return [...Deno.readDirSync(`${VMM_CACHE}/${pkg}`)].find((e) => e.name.endsWith(".deb"))?.name;
  } catch {
    return undefined;
  }
}

/** `apt-get download` of every package not cached yet, in one call; each .deb to its folder. */
async function download(pkgs: string[]): Promise<void> {
  const missing = pkgs.filter((p) => !cachedDeb(p));
  if (!missing.length) return;
  await Deno.mkdir(VMM_CACHE, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: VMM_CACHE, prefix: ".dl." });
  try {
    const dl = await run("apt-get", ["download", ...missing.map((p) => `${p}:arm64`)], 600_000, {
      cwd: tmp,
    });
    if (dl.code !== 0) {
      throw new OracleError(`apt-get download ${missing.join(" ")} failed: ${dl.stderr.trim()}`);
    }
    for (const e of Deno.readDirSync(tmp)) {
      const pkg = e.name.split("_")[0];
      await Deno.mkdir(`${VMM_CACHE}/${pkg}`, { recursive: true });
      await Deno.rename(`${tmp}/${e.name}`, `${VMM_CACHE}/${pkg}/${e.name}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Which of `pkgs` are shared-library packages (Debian section `libs`) for arm64. */
async function libraryPackages(pkgs: string[]): Promise<string[]> {
  if (!pkgs.length) return [];
  const r = await run(
    "apt-cache",
    ["show", "--no-all-versions", ...pkgs.map((p) => `${p}:arm64`)],
    60_000,
  );
  const libs: string[] = [];
  for (const stanza of r.stdout.split(/\n\n+/)) {
    const name = stanza.match(/^Package: (\S+)$/m)?.[1];
    if (name && /^Section: libs$/m.test(stanza)) libs.push(name);
  }
  return libs;
}

/** The cached `pkg` .deb (downloaded before), extracted beside it. */
async function openDeb(pkg: string): Promise<{ rec: DebRecord; dir: string; depends: string[] }> {
  const pkgDir = `${VMM_CACHE}/${pkg}`;
  const deb = cachedDeb(pkg);
  if (!deb) throw new OracleError(`${pkg}:arm64 was not downloaded`);
  const path = `${pkgDir}/${deb}`;
  const dir = `${pkgDir}/root`;
  try {
    await Deno.stat(`${dir}/.done`);
  } catch {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const x = await run("dpkg-deb", ["-x", path, dir], 300_000);
    if (x.code !== 0) throw new OracleError(`dpkg-deb -x ${deb}: ${x.stderr.trim()}`);
    await Deno.writeTextFile(`${dir}/.done`, "");
  }
  const rec: DebRecord = {
    package: await debField(path, "Package"),
    version: await debField(path, "Version"),
    architecture: await debField(path, "Architecture"),
    file: deb,
    sha256: await sha256Hex(path),
  };
  const depends = dependsNames(
    [await debField(path, "Pre-Depends"), await debField(path, "Depends")].join(","),
  );
  return { rec, dir, depends };
}

/** NEEDED sonames and the PT_INTERP path of an aarch64 ELF. */
export async function elfNeeds(path: string): Promise<{ needed: string[]; interp?: string }> {
  const d = await run("aarch64-linux-gnu-readelf", ["-d", "-l", "-W", path], 60_000);
  if (d.code !== 0) throw new OracleError(`readelf ${path}: ${d.stderr.trim()}`);
  const needed = [...d.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) =>
    m[1]
  );
  const interp = d.stdout.match(/Requesting program interpreter: ([^\]]+)\]/)?.[1];
  return { needed, interp };
}

const CLOSURE = `${VMM_CACHE}/closure.json`;

/** The resolved closure from an earlier run, if every file it names is still in the cache. */
async function cachedClosure(): Promise<VmmPackages | undefined> {
  try {
    const c = JSON.parse(await Deno.readTextFile(CLOSURE)) as VmmPackages;
    for (const f of c.files) await Deno.stat(f.source);
    return c;
  } catch {
    return undefined;
  }
}

/** Resolve the library closure of QEMU (once; cached); downloads what is missing. */
export async function fetchVmmPackages(): Promise<VmmPackages> {
  const cached = await cachedClosure();
  if (cached) return cached;
  const got = new Map<string, { rec: DebRecord; dir: string; depends: string[] }>();
  const fetch = async (pkgs: string[]) => {
    await download(pkgs);
    for (const p of pkgs) if (!got.has(p)) got.set(p, await openDeb(p));
  };
  await fetch([...ROOT_PACKAGES]);

  /** soname or absolute path → [package, real file] among the packages fetched so far. */
  const find = async (name: string): Promise<[string, string] | undefined> => {
    for (const [pkg, { dir }] of got) {
      const candidates = name.startsWith("/")
        ? [`${dir}${name}`]
        : LIB_DIRS.map((d) => `${dir}/${d}/${name}`);
      for (const c of candidates) {
        try {
          return [pkg, await Deno.realPath(c)];
        } catch {
          // not in this package
        }
      }
    }
    return undefined;
  };

  const files: RootFile[] = [];
  const qemu = got.get("qemu-system-arm")!;
  const queue: { name: string; by: string; path: string }[] = [];
  const seen = new Set<string>();
  const visit = async (pkg: string, source: string, path: string) => {
    files.push({ path, source, package: pkg });
    const { needed, interp } = await elfNeeds(source);
    for (const n of interp ? [interp, ...needed] : needed) {
      if (!seen.has(n)) {
        seen.add(n);
        queue.push({ name: n, by: pkg, path: n.startsWith("/") ? n.slice(1) : "" });
      }
    }
  };
  await visit("qemu-system-arm", await Deno.realPath(`${qemu.dir}/${QEMU_BINARY}`), QEMU_BINARY);
  while (queue.length) {
    const q = queue.shift()!;
    let hit = await find(q.name);
    if (!hit) {
      await fetch(await libraryPackages(got.get(q.by)!.depends.filter((d) => !got.has(d))));
      hit = await find(q.name);
    }
    if (!hit) {
      throw new OracleError(
        `${q.name} (needed by ${q.by}) is in none of ${[...got.keys()].join(", ")}`,
      );
    }
    await visit(hit[0], hit[1], q.path || `lib/aarch64-linux-gnu/${q.name}`);
  }
  const bb = got.get("busybox-static")!;
  files.push({
    path: BUSYBOX_BINARY,
    source: `${bb.dir}/${BUSYBOX_BINARY}`,
    package: bb.rec.package,
  });
  const result = {
    debs: [...got.values()].map((g) => g.rec).sort((a, b) => a.package.localeCompare(b.package)),
    files,
    qemuVersion: qemu.rec.version,
  };
  await Deno.writeTextFile(CLOSURE, JSON.stringify(result, null, 1) + "\n");
  return result;
}
