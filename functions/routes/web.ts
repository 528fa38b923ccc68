/**
 * The small web page: pick a snapshot file and targets, POST it to /v1/verdicts with
 * Accept: application/json, and show the verdict. Plain HTML and a few lines of script, served
 * from memory, no assets; the targets list comes from GET /v1/profiles.
 */
import type { RouteDef } from "../route.ts";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rollsafe</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
  fieldset { border: 1px solid #ccc; margin: 0 0 1rem; }
  select { min-width: 24rem; }
  pre { background: #f6f6f6; padding: 1rem; overflow: auto; max-height: 40rem; }
  .pass { color: #176317; } .warn { color: #8a5a00; } .fail { color: #a31515; }
</style>
</head>
<body>
<h1>rollsafe</h1>
<p>Will this arm64 KVM snapshot restore on that host kernel, and what would the guest see
differently? Upload a rollsafe snapshot (CBOR), a QEMU migration stream or a Firecracker CPU
fingerprint. API: <a href="openapi.json">openapi.json</a>, keys: <a href="v1/keys">v1/keys</a>.</p>
<form id="f">
  <fieldset><legend>Snapshot</legend><input type="file" id="file" required></fieldset>
  <fieldset><legend>Targets (several with Ctrl/Cmd)</legend>
    <select id="targets" multiple size="8" required></select></fieldset>
  <fieldset><legend>Bearer token (if the service requires one)</legend>
    <input type="password" id="token" autocomplete="off" size="50"></fieldset>
  <button>Check</button>
</form>
<h2 id="status"></h2>
<pre id="out"></pre>
<script type="module">
const base = new URL(".", location.href);
const sel = document.getElementById("targets");
const out = document.getElementById("out");
const status = document.getElementById("status");
const r = await fetch(new URL("v1/profiles", base));
if (r.ok) {
  for (const t of (await r.json()).targets) sel.add(new Option(t, t));
} else {
  out.textContent = await r.text();
}
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = document.getElementById("file").files[0];
  const q = new URLSearchParams();
  for (const o of sel.selectedOptions) q.append("target", o.value);
  const type = file.name.endsWith(".json") ? "application/json" : "application/cbor";
  const headers = { "content-type": type, accept: "application/json" };
  const token = document.getElementById("token").value;
  if (token) headers.authorization = "Bearer " + token;
  status.textContent = "checking…";
  status.className = "";
  const res = await fetch(new URL("v1/verdicts?" + q, base), { method: "POST", body: file, headers });
  const body = await res.json();
  const st = body.verdict?.summary?.status ?? "error " + res.status;
  status.textContent = st;
  status.className = st;
  out.textContent = JSON.stringify(body.verdict ?? body, null, 2);
});
</script>
</body>
</html>
`;

export const WEB_ROUTES: RouteDef[] = [{
  method: "get",
  path: "/",
  operationId: "page",
  summary: "A web page to upload a snapshot and read the verdict",
  tag: "meta",
  responses: { "200": { description: "HTML", content: { "text/html": { type: "string" } } } },
  problems: [],
  handle: () =>
    new Response(PAGE, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        // Only this page's own inline script and style, and requests back to this origin.
        "content-security-policy":
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'",
      },
    }),
}];
