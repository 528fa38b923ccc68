/**
 * Hosts: what the hardware contributes to a target (MIDR, sanitised ID registers, cache geometry,
 * GIC CPU-interface limits, Spectre mitigation levels, SVE lengths, PMU). Built-in hosts are
 * data/*.json; users may bring their own (a file or inline JSON), validated the same way.
 */
import neoverseN1 from "./data/neoverse-n1.json" with { type: "json" };
import neoverseV1 from "./data/neoverse-v1.json" with { type: "json" };
import neoverseV2 from "./data/neoverse-v2.json" with { type: "json" };
import qemuTcgMax from "./data/qemu-tcg-max.json" with { type: "json" };
import qemuA57Gicv2 from "./data/qemu-a57-gicv2.json" with { type: "json" };
import qemuMaxNested from "./data/qemu-max-nested.json" with { type: "json" };
import qemuMaxGicv2Nested from "./data/qemu-max-gicv2-nested.json" with { type: "json" };
// generated from the oracle's per-CPU captures: deno run -A hostprobe/fixtures.ts hosts
import qemuMaxSveOffPauthOffNested from "./data/qemu-max-sve-off-pauth-off-nested.json" with {
  type: "json",
};
import qemuMaxSveOffPauthOffGicv2Nested from "./data/qemu-max-sve-off-pauth-off-gicv2-nested.json" with {
  type: "json",
};
import qemuNeoverseN1Nested from "./data/qemu-neoverse-n1-nested.json" with { type: "json" };
import qemuNeoverseN1Gicv2Nested from "./data/qemu-neoverse-n1-gicv2-nested.json" with {
  type: "json",
};
import qemuCortexA76Nested from "./data/qemu-cortex-a76-nested.json" with { type: "json" };
import qemuCortexA76Gicv2Nested from "./data/qemu-cortex-a76-gicv2-nested.json" with {
  type: "json",
};
import qemuCortexA72Nested from "./data/qemu-cortex-a72-nested.json" with { type: "json" };
import qemuCortexA72Gicv2Nested from "./data/qemu-cortex-a72-gicv2-nested.json" with {
  type: "json",
};
import qemuCortexA57Nested from "./data/qemu-cortex-a57-nested.json" with { type: "json" };
import qemuCortexA57Gicv2Nested from "./data/qemu-cortex-a57-gicv2-nested.json" with {
  type: "json",
};
import qemuCortexA53Nested from "./data/qemu-cortex-a53-nested.json" with { type: "json" };
import qemuCortexA53Gicv2Nested from "./data/qemu-cortex-a53-gicv2-nested.json" with {
  type: "json",
};
import qemuCortexA35Nested from "./data/qemu-cortex-a35-nested.json" with { type: "json" };
import qemuCortexA35Gicv2Nested from "./data/qemu-cortex-a35-gicv2-nested.json" with {
  type: "json",
};
import qemuA64fxNested from "./data/qemu-a64fx-nested.json" with { type: "json" };
import qemuA64fxGicv2Nested from "./data/qemu-a64fx-gicv2-nested.json" with { type: "json" };
import { checkFacts, HOST_FACTS } from "../profiles/schema.ts";
import { canonicalJson, sha256Hex } from "../profiles/digest.ts";
import { type Fact, type Host, type HostFile, type Json, ProfileError } from "../profiles/types.ts";

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function parseHostFile(raw: unknown, where: string): HostFile {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ProfileError("schema/type", where, "expected a JSON object");
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["id", "title", "facts", "comment"].includes(k)) {
      throw new ProfileError("schema/key", `${where}.${k}`, "unknown key in a host");
    }
  }
  if (typeof o.id !== "string" || !ID_RE.test(o.id)) {
    throw new ProfileError(
      "schema/id",
      `${where}.id`,
      "expected an id of lower-case letters, digits, '.', '_' or '-'",
    );
  }
  if (typeof o.title !== "string") {
    throw new ProfileError("schema/type", `${where}.title`, "expected a string");
  }
  const facts = checkFacts(o.facts, HOST_FACTS, `${where}.facts`);
  for (const required of ["midr", "gic.version", "gic.priBits", "gic.idBits"]) {
    if (!facts[required]) {
      throw new ProfileError(
        "host/missing",
        `${where}.facts`,
        `a host needs the fact "${required}"`,
      );
    }
  }
  return { id: o.id, title: o.title, facts };
}

/** The canonical JSON text a host's digest is computed over (id and facts). */
export function hostCanonical(f: HostFile): string {
  return canonicalJson({ id: f.id, facts: f.facts as unknown as Json });
}

export function buildHost(f: HostFile): Host {
  return { ...f, digest: sha256Hex(hostCanonical(f)) };
}

const BUILTIN = new Map<string, Host>();
for (
  const raw of [
    neoverseN1,
    neoverseV1,
    neoverseV2,
    qemuTcgMax,
    qemuA57Gicv2,
    qemuMaxNested,
    qemuMaxGicv2Nested,
    qemuMaxSveOffPauthOffNested,
    qemuMaxSveOffPauthOffGicv2Nested,
    qemuNeoverseN1Nested,
    qemuNeoverseN1Gicv2Nested,
    qemuCortexA76Nested,
    qemuCortexA76Gicv2Nested,
    qemuCortexA72Nested,
    qemuCortexA72Gicv2Nested,
    qemuCortexA57Nested,
    qemuCortexA57Gicv2Nested,
    qemuCortexA53Nested,
    qemuCortexA53Gicv2Nested,
    qemuCortexA35Nested,
    qemuCortexA35Gicv2Nested,
    qemuA64fxNested,
    qemuA64fxGicv2Nested,
  ]
) {
  const h = buildHost(parseHostFile(raw, `emulator/hosts/data/${(raw as { id: string }).id}.json`));
  BUILTIN.set(h.id, h);
}

export function builtinHostIds(): string[] {
  return [...BUILTIN.keys()];
}

export function resolveHost(id: string, extra: Map<string, Host> = new Map()): Host {
  const h = extra.get(id) ?? BUILTIN.get(id);
  if (!h) {
    throw new ProfileError(
      "host/unknown",
      id,
      `unknown host "${id}" (known: ${[...extra.keys(), ...builtinHostIds()].join(", ")})`,
    );
  }
  return h;
}

/** Typed accessors: a host fact's value, or undefined when the host does not say. */
export function hostHex(h: Host, key: string): bigint | undefined {
  const f: Fact | undefined = h.facts[key];
  return f ? BigInt(f.value as string) : undefined;
}

export function hostNum(h: Host, key: string): number | undefined {
  const f = h.facts[key];
  return f ? (f.value as number) : undefined;
}

export function hostBool(h: Host, key: string): boolean {
  return h.facts[key]?.value === true;
}
