/**
 * `deno task build:vmm-guests`: assembles the VMM referee's guest programs with Debian
 * bookworm's GNU binutils (aarch64-linux-gnu-as and -ld 2.40, the same pin as
 * emulator/probes/build.ts) and writes the committed outputs:
 *
 *   hostprobe/vmm/bin/<guest>.elf   linked at 0x40080000 (QEMU virt's -kernel loads ELFs as linked)
 *   hostprobe/vmm/bin/build.json    tool version, size and SHA-256 of each
 *
 * CI runs this task and fails if any byte differs from what is committed (.ci/artifacts).
 */
import { run, sha256Hex } from "../proc.ts";

const here = new URL(".", import.meta.url).pathname;
export const GUEST_BIN = new URL("../bin/", import.meta.url).pathname;
/** The guest programs (one .S each, all including common.S). */
export const GUESTS = ["configured", "pending", "reset"] as const;
export type GuestName = typeof GUESTS[number];
const PINNED_BINUTILS = "2.40";

async function tool(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, 60_000, { cwd: here });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function buildGuests(): Promise<Record<string, { size: number; sha256: string }>> {
  const version = (await tool("aarch64-linux-gnu-as", ["--version"])).split("\n")[0];
  if (!version.includes(` ${PINNED_BINUTILS}`)) {
    throw new Error(
      `aarch64-linux-gnu-as is "${version}"; the committed guests need ${PINNED_BINUTILS}`,
    );
  }
  await Deno.mkdir(GUEST_BIN, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "vmm-guests-" });
  const out: Record<string, { size: number; sha256: string }> = {};
  try {
    for (const g of GUESTS) {
      await tool("aarch64-linux-gnu-as", ["-o", `${tmp}/${g}.o`, `${g}.S`]);
      const elf = `${GUEST_BIN}${g}.elf`;
      await tool("aarch64-linux-gnu-ld", [
        "-z",
        "max-page-size=4096",
        "--build-id=none",
        "-Ttext=0x40080000",
        "-o",
        elf,
        `${tmp}/${g}.o`,
      ]);
      const bytes = await Deno.readFile(elf);
      out[g] = { size: bytes.length, sha256: await sha256Hex(bytes) };
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const doc = { binutils: version, load: "0x40080000", guests: out };
  await Deno.writeTextFile(`${GUEST_BIN}build.json`, JSON.stringify(doc, null, 2) + "\n");
  return out;
}

if (import.meta.main) {
  const r = await buildGuests();
  for (const [g, v] of Object.entries(r)) console.log(`${g}.elf ${v.size} bytes ${v.sha256}`);
}
