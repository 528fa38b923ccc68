/**
 * Tests that need an outside oracle (QEMU, the Debian Rust toolchain, Python cbor2, PostgreSQL,
 * the aarch64 binutils) run for real where the oracle is installed. Where it is missing they are
 * skipped with a printed notice, never silently; under `CI=true` a missing oracle is a failure,
 * because CI installs every oracle (`.ci/run`).
 */

export interface Oracle {
  /** What the notice calls it, e.g. "qemu-system-aarch64". */
  name: string;
  /** How to install it, e.g. "apt-get install qemu-system-arm". */
  install: string;
  /** Whether it is usable on this machine. */
  available: () => boolean;
}

const cache = new Map<string, boolean>();

/** True if `cmd` runs (exit status ignored) on this machine. */
export function commandRuns(cmd: string, args: string[] = ["--version"]): boolean {
  const key = [cmd, ...args].join(" ");
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let ok = false;
  try {
    const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync();
    ok = out.code === 0 || out.code === 1;
  } catch {
    ok = false;
  }
  cache.set(key, ok);
  return ok;
}

export const QEMU_SYSTEM: Oracle = {
  name: "qemu-system-aarch64",
  install: "apt-get install qemu-system-arm",
  available: () => commandRuns("qemu-system-aarch64"),
};
export const QEMU_USER: Oracle = {
  name: "qemu-aarch64",
  install: "apt-get install qemu-user",
  available: () => commandRuns("qemu-aarch64", ["-version"]),
};
export const AARCH64_BINUTILS: Oracle = {
  name: "aarch64-linux-gnu-as",
  install: "apt-get install binutils-aarch64-linux-gnu",
  available: () => commandRuns("aarch64-linux-gnu-as"),
};
export const AARCH64_GCC: Oracle = {
  name: "aarch64-linux-gnu-gcc",
  install: "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
  available: () => commandRuns("aarch64-linux-gnu-gcc"),
};
export const DEBIAN_RUST: Oracle = {
  name: "Debian rustc 1.63 with the wasm32 std (/usr/bin/cargo)",
  install: "apt-get install rustc cargo libstd-rust-dev-wasm32",
  available: () => {
    try {
      Deno.statSync("/usr/lib/rustlib/wasm32-unknown-unknown");
      return commandRuns("/usr/bin/cargo");
    } catch {
      return false;
    }
  },
};
export const PYTHON_CBOR2: Oracle = {
  name: "Debian python3 with cbor2 and cryptography (/usr/bin/python3)",
  install: "apt-get install python3-cbor2 python3-cryptography",
  available: () => pythonImports(),
};
// The tests reach PostgreSQL through ROLLSAFE_TEST_DATABASE_URL only, so that is what is missing
// when it is unset, whether or not Debian's server is installed.
const PG_INSTALLED = (() => {
  try {
    return Deno.statSync("/usr/bin/pg_ctlcluster").isFile;
  } catch {
    return false;
  }
})();
export const POSTGRES: Oracle = {
  name: "ROLLSAFE_TEST_DATABASE_URL (a running PostgreSQL server for the ledger tests)",
  install: PG_INSTALLED
    ? "PostgreSQL is installed but not started for the tests: source .ci/postgres"
    : "apt-get install postgresql && source .ci/postgres",
  available: () => Deno.env.get("ROLLSAFE_TEST_DATABASE_URL") !== undefined,
};

export const DEBIAN_ARM64_KERNELS: Oracle = {
  name: "Debian arm64 kernel packages in apt's lists (linux-image-arm64, linux-image-6.12-arm64)",
  install: "dpkg --add-architecture arm64 && apt-get update",
  available: () => aptHasArm64Kernel(),
};

function aptHasArm64Kernel(): boolean {
  try {
    // coreutils timeout: outputSync takes no abort signal
    const out = new Deno.Command("timeout", {
      args: [
        "30",
        "apt-cache",
        "policy",
        "linux-image-arm64:arm64",
        "linux-image-6.12-arm64:arm64",
      ],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout);
    return (text.match(/Candidate: (?!\(none\))\S+/g) ?? []).length === 2;
  } catch {
    return false;
  }
}

function pythonImports(): boolean {
  try {
    const out = new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import cbor2, cryptography"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.code === 0;
  } catch {
    return false;
  }
}

const inCI = () => Deno.env.get("CI") === "true";
const noticed = new Set<string>();

/**
 * `Deno.test` for a test that needs oracles. Missing oracle: a printed notice and an ignored test,
 * or, under CI=true, a failing test that says what is missing.
 */
export function oracleTest(
  def:
    & { name: string; needs: Oracle[]; fn: (t: Deno.TestContext) => void | Promise<void> }
    & Omit<
      Deno.TestDefinition,
      "name" | "fn"
    >,
): void {
  const { needs, ...rest } = def;
  const missing = needs.filter((o) => !o.available());
  if (missing.length === 0) {
    Deno.test(rest);
    return;
  }
  const what = missing.map((o) => `${o.name} (${o.install})`).join(", ");
  if (inCI()) {
    Deno.test({
      ...rest,
      fn: () => {
        throw new Error(`oracle missing under CI=true: ${what}`);
      },
    });
    return;
  }
  const key = `${def.name}:${what}`;
  if (!noticed.has(key)) {
    noticed.add(key);
    console.error(`notice: skipping "${def.name}": needs ${what}`);
  }
  Deno.test({ ...rest, ignore: true });
}
