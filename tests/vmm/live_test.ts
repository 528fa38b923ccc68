/**
 * One live VMM referee case in the default test run (every case is committed and checked fast in
 * vmm_test.ts; the matrix is `deno task oracle vmm --all`): Debian 6.12 nested under `-cpu max`
 * with a GICv3, the "configured" guest saved by QEMU/KVM and restored by a second QEMU/KVM on
 * the same kernel. It must load, the guest must run on and see nothing change, and rollsafe's
 * verdict on the fresh stream must agree (agree.ts). Runs where QEMU, the aarch64 binutils and
 * apt's arm64 lists are present; required under CI=true. The boot has a 15-minute deadline
 * (about 4 minutes on an idle two-core machine).
 */
import { assert, assertEquals } from "@std/assert";
import {
  AARCH64_BINUTILS,
  DEBIAN_ARM64_KERNELS,
  oracleTest,
  QEMU_SYSTEM,
} from "../support/oracle.ts";
import { bootReferee } from "../../hostprobe/vmm/referee.ts";
import { guestObservations, hostId } from "../../hostprobe/vmm/matrix.ts";
import { judge, type VmmFixture } from "./agree.ts";

oracleTest({
  name: "vmm live: QEMU/KVM saves and restores a guest on real Debian 6.12; rollsafe agrees",
  needs: [QEMU_SYSTEM, AARCH64_BINUTILS, DEBIAN_ARM64_KERNELS],
  fn: async () => {
    const boot = await bootReferee({
      kernel: "debian-6.12",
      cpu: "max",
      gic: 3,
      jobs: [
        { kind: "save", name: "live", guest: "configured", gic: 3 },
        { kind: "restore", name: "live-back", guest: "configured", gic: 3, input: "live" },
      ],
      timeoutMs: 900_000,
    });
    assert(boot.kvm, `${boot.release}: /dev/kvm inside the nested guest`);
    const [save, restore] = boot.jobs;
    assertEquals([save.status, save.exit], ["saved", 0], save.texts.stderr);
    assertEquals([restore.status, restore.exit], ["ran", 0], restore.texts.stderr);
    const before = guestObservations(save.texts.serial ?? "");
    const after = guestObservations(restore.texts.serial ?? "");
    assertEquals(before.guest, "configured");
    assert(Object.keys(before.before).length > 50, "the guest printed its observations");
    assertEquals(after.changed, [], "same kernel, same host: the guest sees nothing change");
    const kernel = { ...boot.kernel, release: boot.release };
    const f: VmmFixture = {
      case: "max-gicv3.identity-6.12.configured (live)",
      kind: "identity-6.12",
      guest: "configured",
      host: hostId("max", 3),
      outer: { cpu: "max", gic: 3 },
      source: { kernel },
      target: { kernel, restore: { status: restore.status, exit: restore.exit, stderr: "" } },
      stream: { file: "", bytes: save.stream!.length, sha256: save.streamSha256! },
      restored: true,
      observed: { before: before.before, after: after.after, changed: after.changed },
    };
    const j = await judge(f, save.stream);
    // the same disagreements as the committed case, and no others
    const known = JSON.parse(
      await Deno.readTextFile(new URL("../fixtures/vmm/known-disagreements.json", import.meta.url)),
    ) as { cases: Record<string, { disagreements: string[] }> };
    assertEquals(
      j.disagreements,
      known.cases["max-gicv3.identity-6.12.configured"]?.disagreements ?? [],
      j.verdict,
    );
  },
});
