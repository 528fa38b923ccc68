/**
 * The engine identity bound into every verdict, whoever signs it (`rollsafe check --out` or the
 * service): the version, the SHA-256 of the emulator wasm module and of the guest probe image
 * that ran, and the git revision when one is given (ROLLSAFE_GIT_REVISION). Computed once per
 * process and revision.
 *
 * The wasm bytes are read from wasm/pkg beside the code; in a bundle, functions/bundle.ts
 * replaces that read (WASM_READS) with the inlined bytes, as it does for emulator/machine.ts.
 */
import { decodeBase64 } from "../emulator/probes/base64.ts";
import { PROBE_IMAGE_BASE64 } from "../emulator/probes/bin/probe_image.ts";
import { engineIdentity, type VerdictInput } from "../verdict/mod.ts";
import { AppError } from "./errors.ts";

const WASM_FILE_URL = new URL("../wasm/pkg/rollsafe_emu.wasm", import.meta.url);

/** verdict/schema.ts's rule for `engine.git_revision`. */
const GIT_REVISION = /^[0-9a-f]{7,64}(-dirty)?$/;

/** By git revision ("" for none). */
const cached = new Map<string, Promise<VerdictInput["engine"]>>();

/** The engine identity; a malformed revision is an AppError of type not-configured. */
export function engine(gitRevision?: string): Promise<VerdictInput["engine"]> {
  const rev = gitRevision || undefined;
  if (rev !== undefined && !GIT_REVISION.test(rev)) {
    throw new AppError(
      "not-configured",
      `ROLLSAFE_GIT_REVISION "${rev.slice(0, 80)}" is not a hex git revision (optionally -dirty)`,
    );
  }
  const key = rev ?? "";
  let p = cached.get(key);
  if (p === undefined) {
    p = Deno.readFile(WASM_FILE_URL).then((wasm) =>
      engineIdentity({
        wasm,
        probes: { probe: decodeBase64(PROBE_IMAGE_BASE64) },
        gitRevision: rev,
      })
    );
    cached.set(key, p);
    p.catch(() => cached.delete(key));
  }
  return p;
}
