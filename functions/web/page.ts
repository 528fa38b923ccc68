/**
 * The web page: a verdict viewer. Pick a snapshot (its format is recognised from its first bytes
 * and said on the page), choose targets (defaults follow the format), optionally the source and
 * VMM; the page POSTs the bytes as application/octet-stream (the service recognises them too)
 * and draws the JSON answer: a target × status matrix, the failed and ignored operations grouped
 * by rule (errno, register, reason, citation), drift side by side with the changed 4-bit ID
 * register fields marked, an IGROUPR bitmap where interrupt groups are lost, a badge when a
 * development key signed it, the .cose to download and the `rollsafe verify` line to copy.
 *
 * One HTML document with inline style and script, served from memory (the edge bundles have no
 * file system). Every value from the answer is inserted as text, never as markup.
 * tests/browser/page_test.ts drives it in Chromium.
 */

const STYLE = `
  :root { --ok: #176317; --warn: #8a5a00; --fail: #a31515; --mute: #666; --line: #ddd; }
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; }
  h1 { margin: 0 0 .25rem; } h2 { margin: 1.5rem 0 .5rem; font-size: 1.15rem; }
  form { display: grid; grid-template-columns: 9rem 1fr; gap: .5rem 1rem; align-items: start;
         background: #f7f7f7; padding: 1rem; border: 1px solid var(--line); }
  label { font-weight: 600; padding-top: .2rem; }
  select[multiple] { min-width: 26rem; }
  .hint { color: var(--mute); font-size: .85rem; }
  table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; font-size: .9rem; }
  th, td { border: 1px solid var(--line); padding: .25rem .45rem; text-align: left; vertical-align: top; }
  th { background: #f0f0f0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  code, .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
  .pass { color: var(--ok); } .warn { color: var(--warn); } .fail { color: var(--fail); }
  .cell-pass { background: #e4f4e4; } .cell-warn { background: #fff1d6; } .cell-fail { background: #fbe1e1; }
  .badge { display: inline-block; padding: .15rem .5rem; border-radius: .25rem; font-weight: 700; }
  .badge.dev { background: #a31515; color: #fff; }
  .badge.status { border: 2px solid currentColor; text-transform: uppercase; }
  mark { background: #ffd54a; padding: 0 .05rem; }
  .bitmap { display: grid; grid-template-columns: repeat(32, 1.1rem); gap: 2px; margin: .25rem 0; }
  .bit { height: 1.1rem; font: 10px/1.1rem ui-monospace, monospace; text-align: center; border-radius: 2px; }
  .bit.g0 { background: #dfe7f5; } .bit.g1 { background: #7a9bd6; color: #fff; }
  .bit.lost { outline: 2px solid var(--fail); background: #f7b3b3; color: #000; }
  .cmd { display: flex; gap: .5rem; align-items: center; }
  .cmd code { background: #f3f3f3; padding: .35rem .5rem; flex: 1; overflow-x: auto; white-space: pre; }
  #error { color: var(--fail); font-weight: 600; white-space: pre-wrap; }
`;

const SCRIPT = String.raw`
const base = new URL(".", location.href);
const $ = (id) => document.getElementById(id);
/** Builds an element; children are nodes or text (inserted as text, never parsed). */
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null) e.append(k instanceof Node ? k : String(k));
  return e;
}

// Formats by their first bytes, as the service recognises them (snapshots/import/mod.ts).
const FORMATS = {
  // Default targets: an older and a current kernel of the family the format usually comes from.
  qemu: { label: "QEMU migration stream", hosts: ["qemu-tcg-max", "qemu-a57-gicv2"], profiles: ["linux-5.10", "linux-6.1"], vmm: "qemu" },
  "fc-fingerprint": { label: "Firecracker CPU fingerprint (JSON)", hosts: ["neoverse-n1"], profiles: ["amzn2-5.10", "amzn2023-6.1"], vmm: "firecracker" },
  native: { label: "rollsafe snapshot (CBOR)", hosts: [], profiles: [], vmm: "" },
};
function sniff(b) {
  if (b.length >= 4 && b[0] === 0x51 && b[1] === 0x45 && b[2] === 0x56 && b[3] === 0x4d) return "qemu";
  let i = 0;
  while (i < b.length && i < 64 && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (b[i] === 0x7b) return "fc-fingerprint";
  if (b.length > 0 && b[0] >> 5 === 5) return "native";
  return undefined;
}

let catalogue = { targets: [] };
let file, format;
const sel = $("targets"), src = $("source");

async function loadTargets() {
  const r = await fetch(new URL("v1/profiles", base));
  if (!r.ok) { $("error").textContent = "cannot list targets: " + r.status; return; }
  catalogue = await r.json();
  for (const t of catalogue.targets) { sel.add(new Option(t, t)); src.add(new Option(t, t)); }
}

/** The hosts a file's targets default to: by format, and for QEMU by the GIC model its device
 * sections name (they follow the RAM, so they are read from the end of the stream). */
let hosts = [];
function chooseDefaults() {
  const f = FORMATS[format];
  if (!f) return;
  for (const o of sel.options) {
    const [p, h] = o.value.split("@");
    o.selected = hosts.includes(h) && f.profiles.includes(p);
  }
  if (![...sel.options].some((o) => o.selected) && sel.options.length) sel.options[0].selected = true;
  $("vmm").value = f.vmm;
}

$("file").addEventListener("change", async () => {
  file = $("file").files[0];
  if (!file) return;
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  format = sniff(head);
  hosts = format ? FORMATS[format].hosts : [];
  if (format === "qemu") {
    const tail = new TextDecoder("latin1").decode(await file.slice(Math.max(0, file.size - (1 << 20))).arrayBuffer());
    hosts = tail.includes("arm_gicv3") ? ["qemu-tcg-max"] : tail.includes("arm_gic") ? ["qemu-a57-gicv2"] : hosts;
  }
  $("detected").textContent = format
    ? "detected: " + FORMATS[format].label + " (" + file.size + " bytes)"
    : "not a format rollsafe reads (rollsafe CBOR, QEMU stream, Firecracker fingerprint)";
  $("detected").className = format ? "hint" : "fail";
  chooseDefaults();
});

const hexOf = (v) => typeof v === "string" && /^0x[0-9a-f]+$/i.test(v);
/** Source and target hex values side by side, the differing 4-bit fields marked. */
function fieldDiff(a, b) {
  if (!hexOf(a) || !hexOf(b)) return [el("span", { class: "mono" }, a), el("span", { class: "mono" }, b)];
  const w = Math.max(a.length, b.length) - 2;
  const pa = a.slice(2).padStart(w, "0"), pb = b.slice(2).padStart(w, "0");
  const side = (p, q) => el("span", { class: "mono" }, "0x",
    ...[...p].map((c, i) => c === q[i] ? c : el("mark", { title: "bits " + (4 * (w - i) - 1) + ":" + (4 * (w - i - 1)) }, c)));
  return [side(pa, pb), side(pb, pa)];
}

/** Failed/ignored operations with the same rule (errno, reason shape, citation) share a row. */
function groups(ops) {
  const m = new Map();
  for (const o of ops) {
    const reason = o.reason.split(o.name).join("<reg>").replace(/\b0x[0-9a-f]+\b|\b\d+\b/gi, "#");
    const k = [o.outcome, o.errno || "", reason, (o.source && o.source.cite) || ""].join("\u0000");
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(o);
  }
  return [...m.values()];
}

/** 32 cells per IGROUPR word: the saved group of each interrupt, red where the restore loses it. */
function bitmaps(t) {
  const words = [];
  for (const o of t.operations) {
    if (!/IGROUPR/.test(o.name) || o.outcome === "ok" || !hexOf(o.value)) continue;
    words.push({ name: o.name + (o.vcpu !== undefined ? " (vCPU " + o.vcpu + ")" : ""), value: parseInt(o.value, 16) >>> 0, outcome: o.outcome });
  }
  if (!words.length) return null;
  const rel = t.reliance.find((r) => r.kind === "interrupt-groups");
  const reset = rel && /as group 1 again/.test(rel.explanation) ? 1 : 0;
  const first = (name) => { const n = /IGROUPR(\d+)/.exec(name); return n ? 32 * Number(n[1]) : 0; };
  return el("div", { class: "igroupr" },
    el("p", {}, "Interrupt groups the guest set (dark: group 1, light: group 0); outlined red: lost on restore, the interrupt comes back as group " + reset + "."),
    ...words.map((w) => el("div", {},
      el("div", { class: "mono" }, w.name + " = 0x" + w.value.toString(16) + " (" + w.outcome + ")"),
      el("div", { class: "bitmap", "data-register": w.name },
        ...Array.from({ length: 32 }, (_, i) => {
          const g = (w.value >>> i) & 1;
          return el("div", { class: "bit g" + g + (g !== reset ? " lost" : ""), title: "INTID " + (first(w.name) + i) + ": group " + g }, String(i));
        })))));
}

function render(body, files) {
  const v = body.verdict, out = $("result");
  out.replaceChildren();
  const st = v.summary.status;
  out.append(el("h2", {}, "Verdict ", el("span", { class: "badge status " + st, id: "status" }, st), " ",
    v.dev_key ? el("span", { class: "badge dev", id: "devkey", title: "rollsafe verify refuses it without --accept-dev-key" }, "DEVELOPMENT KEY: proves nothing") : ""));
  out.append(el("p", { class: "hint" }, v.summary.restorable + " of " + v.summary.targets + " target(s) restorable; snapshot sha256 ",
    el("code", {}, body.snapshot_sha256), "; source " + v.source.profile.id + "@" + v.source.host.id + ", VMM " + v.vmm + "; issued " + v.issued_at_utc));

  // Target x status matrix.
  out.append(el("h2", {}, "Targets"), el("table", { id: "matrix" },
    el("tr", {}, ...["target", "status", "restorable", "failed", "ignored", "breaking", "notable"].map((h) => el("th", {}, h))),
    ...v.targets.map((t) => {
      const count = (s) => t.drift.filter((d) => d.severity === s).length + t.reliance.filter((r) => r.severity === s).length;
      return el("tr", { "data-target": t.id },
        el("td", { class: "mono" }, t.id), el("td", { class: "cell-" + t.status }, t.status),
        el("td", {}, t.restorable ? "yes" : "NO"),
        el("td", { class: "num" }, t.operations.filter((o) => o.outcome === "failed").length),
        el("td", { class: "num" }, t.operations.filter((o) => o.outcome === "ignored").length),
        el("td", { class: "num" }, count("breaking")), el("td", { class: "num" }, count("notable")));
    })));

  for (const t of v.targets) {
    const sec = el("section", { "data-target": t.id }, el("h2", {}, t.id, " ", el("span", { class: t.status }, "(" + t.status + ")")));
    if (t.operations.length) {
      sec.append(el("table", { class: "ops" },
        el("tr", {}, ...["outcome", "errno", "register", "value", "reason", "citation"].map((h) => el("th", {}, h))),
        ...groups(t.operations).map((g) => {
          const o = g[0];
          const names = [...new Set(g.map((x) => x.name))];
          const vcpus = [...new Set(g.filter((x) => x.vcpu !== undefined).map((x) => x.vcpu))];
          return el("tr", { class: "op " + o.outcome },
            el("td", { class: o.outcome === "failed" ? "fail" : "warn" }, o.outcome + (g.length > 1 ? " ×" + g.length : "")),
            el("td", { class: "mono" }, o.errno || ""),
            el("td", { class: "mono" }, names.length > 1
              ? el("details", {}, el("summary", {}, names.slice(0, 3).join(", ") + (names.length > 3 ? ", … (" + names.length + ")" : "")), names.join(", "))
              : names[0], o.id ? el("div", { class: "hint" }, o.id) : "", vcpus.length ? el("div", { class: "hint" }, "vCPU " + vcpus.join(", ")) : ""),
            el("td", { class: "mono" }, o.value || ""),
            el("td", {}, o.reason),
            el("td", { class: "hint" }, o.source ? o.source.cite + " [" + o.source.confidence + "]" : ""));
        })));
    } else {
      sec.append(el("p", { class: "pass" }, "Every restore operation is accepted (" + t.checked + " checked)."));
    }
    if (t.drift.length) {
      sec.append(el("table", { class: "drift" },
        el("tr", {}, ...["what the guest reads", "source", "target", "severity", "why it matters"].map((h) => el("th", {}, h))),
        ...t.drift.map((d) => { const [a, b] = fieldDiff(d.source, d.target);
          return el("tr", { class: "drift-row " + d.severity }, el("td", { class: "mono" }, d.what), el("td", {}, a), el("td", {}, b),
            el("td", { class: d.severity === "breaking" ? "fail" : d.severity === "notable" ? "warn" : "" }, d.severity), el("td", {}, d.explanation)); })));
    }
    for (const r of t.reliance) sec.append(el("p", { class: r.severity === "breaking" ? "fail" : "warn" }, r.kind + ": " + r.explanation));
    const bm = bitmaps(t);
    if (bm) sec.append(bm);
    out.append(sec);
  }

  // The signed verdict and how to check it offline.
  const bytes = Uint8Array.from(atob(body.cose), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/cose" }));
  const t0 = v.targets[0].id;
  const cmd = "curl -sS -o keys.cose " + new URL("v1/keys", base) + "\nrollsafe verify verdict.cose --snapshot " +
    JSON.stringify(files.name).slice(1, -1).replace(/[^A-Za-z0-9._\/-]/g, "_") + " --target " + t0 + " --key keys.cose" + (v.dev_key ? " --accept-dev-key" : "");
  out.append(el("h2", {}, "Signed verdict"),
    el("p", {}, el("a", { id: "download", href: url, download: "verdict.cose" }, "Download verdict.cose"),
      " (" + bytes.length + " bytes, COSE_Sign1, sha256 ", el("code", {}, body.cose_sha256), ")"),
    el("div", { class: "cmd" }, el("code", { id: "verify-cmd" }, cmd),
      el("button", { type: "button", onclick: () => navigator.clipboard.writeText(cmd).then(() => { $("copied").textContent = "copied"; }) }, "Copy"),
      el("span", { id: "copied", class: "hint" })));
}

$("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("error").textContent = "";
  if (!file) { $("error").textContent = "choose a snapshot file first"; return; }
  const q = new URLSearchParams();
  for (const o of sel.selectedOptions) q.append("target", o.value);
  if (src.value) q.set("source", src.value);
  if ($("vmm").value) q.set("vmm", $("vmm").value);
  const headers = { "content-type": "application/octet-stream", accept: "application/json" };
  const token = $("token").value;
  if (token) headers.authorization = "Bearer " + token;
  $("busy").textContent = "checking…";
  try {
    const res = await fetch(new URL("v1/verdicts?" + q, base), { method: "POST", body: file, headers });
    const body = await res.json();
    if (!res.ok) { $("error").textContent = (body.title || res.status) + ": " + (body.detail || ""); $("result").replaceChildren(); return; }
    render(body, file);
  } catch (err) {
    $("error").textContent = String(err);
  } finally {
    $("busy").textContent = "";
  }
});

await loadTargets();
document.body.dataset.ready = "1";
`;

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rollsafe</title>
<style>${STYLE}</style>
</head>
<body>
<h1>rollsafe</h1>
<p>Will this arm64 KVM snapshot restore on that host kernel, and what would the guest see
differently? Upload a rollsafe snapshot (CBOR), a QEMU migration stream or a Firecracker CPU
fingerprint. <a href="docs">API docs</a> (<a href="openapi.json">openapi.json</a>), public keys:
<a href="v1/keys">v1/keys</a>.</p>
<form id="f">
  <label for="file">Snapshot</label>
  <div><input type="file" id="file"><div id="detected" class="hint">the format is recognised from the file's first bytes</div></div>
  <label for="targets">Targets</label>
  <div><select id="targets" multiple size="8"></select>
    <div class="hint">profile@host; several with Ctrl/Cmd. Chosen for the file's format; change freely.</div></div>
  <label for="source">Source</label>
  <div><select id="source"><option value="">recognise from the snapshot</option></select>
    <div class="hint">where the snapshot was taken; needed for drift when the snapshot does not say</div></div>
  <label for="vmm">VMM</label>
  <div><select id="vmm"><option value="">as the snapshot says</option><option>qemu</option>
    <option>firecracker</option><option>cloud-hypervisor</option><option>generic</option></select></div>
  <label for="token">Bearer token</label>
  <div><input type="password" id="token" autocomplete="off" size="40">
    <span class="hint">only if the service requires one</span></div>
  <span></span><div><button id="check">Check</button> <span id="busy" class="hint"></span></div>
</form>
<p id="error"></p>
<div id="result"></div>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;

/** The API reference, drawn from /openapi.json in the browser (one source of truth). */
export const DOCS = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>rollsafe API</title>
<style>${STYLE} .op h3 { font-family: ui-monospace, monospace; margin: 1.25rem 0 .25rem; }</style></head>
<body>
<h1>rollsafe API</h1>
<p><a href=".">Back to the page</a> · the machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1)</p>
<div id="ops"></div>
<script type="module">${String.raw`
const doc = await (await fetch("openapi.json")).json();
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
const ops = document.getElementById("ops");
ops.append(el("p", doc.info.description));
for (const [path, methods] of Object.entries(doc.paths)) {
  for (const [m, op] of Object.entries(methods)) {
    const s = el("section", undefined, "op");
    s.append(el("h3", m.toUpperCase() + " " + path), el("p", op.summary + (op.description ? ". " + op.description : "")));
    if (op.parameters?.length) {
      const t = el("table"); t.append(el("tr")); for (const h of ["parameter", "in", "required", "what"]) t.rows[0].append(el("th", h));
      for (const p of op.parameters) { const r = el("tr"); for (const c of [p.name, p.in, p.required ? "yes" : "", p.description ?? ""]) r.append(el("td", String(c))); t.append(r); }
      s.append(t);
    }
    if (op.requestBody) s.append(el("p", "Body (" + Object.keys(op.requestBody.content).join(", ") + "): " + (op.requestBody.description ?? "")));
    const rs = el("ul"); for (const [code, r] of Object.entries(op.responses)) rs.append(el("li", code + ": " + r.description)); s.append(rs);
    ops.append(s);
  }
}
document.body.dataset.ready = "1";
`}</script>
</body></html>
`;
