/**
 * A multipart/form-data upload (RFC 7578) for POST /v1/verdicts: the snapshot plus the caller's
 * own kernel profiles and hosts (design.md: "Users must be able to supply their own profile or
 * host in the request"). Parts:
 *
 *   snapshot  exactly one; its own Content-Type picks the importer (absent: recognised)
 *   profile   zero or more, each a profile file as JSON (emulator/profiles/schema.ts)
 *   host      zero or more, each a host file as JSON
 *
 * The body has already been read under the byte cap; this only splits it.
 */
import { Problem } from "./problem.ts";

export interface MultipartUpload {
  bytes: Uint8Array;
  contentType?: string;
  profiles: string[];
  hosts: string[];
}

const PARTS = new Set(["snapshot", "profile", "host"]);

export function isMultipart(contentType: string | undefined): boolean {
  return contentType?.split(";")[0].trim().toLowerCase() === "multipart/form-data";
}

async function text(v: FormDataEntryValue): Promise<string> {
  return typeof v === "string" ? v : await v.text();
}

export async function parseMultipart(
  body: Uint8Array,
  contentType: string,
): Promise<MultipartUpload> {
  let form: FormData;
  try {
    form = await new Request("http://upload.invalid/", {
      method: "POST",
      body: new Uint8Array(body),
      headers: { "content-type": contentType },
    }).formData();
  } catch (e) {
    throw new Problem("bad-request", `multipart/form-data body: ${(e as Error).message}`);
  }
  for (const name of new Set(form.keys())) {
    if (!PARTS.has(name)) {
      throw new Problem(
        "bad-request",
        `multipart part "${name.slice(0, 40)}" is not one of: snapshot, profile, host`,
      );
    }
  }
  const snaps = form.getAll("snapshot");
  if (snaps.length !== 1) {
    throw new Problem(
      "bad-request",
      `multipart body needs exactly one snapshot part, got ${snaps.length}`,
    );
  }
  const snap = snaps[0];
  const bytes = typeof snap === "string"
    ? new TextEncoder().encode(snap)
    : new Uint8Array(await snap.arrayBuffer());
  const type = typeof snap === "string" ? "" : snap.type;
  return {
    bytes,
    contentType: type === "" ? undefined : type,
    profiles: await Promise.all(form.getAll("profile").map(text)),
    hosts: await Promise.all(form.getAll("host").map(text)),
  };
}
