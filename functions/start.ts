/**
 * `deno task start`: the service on one port of this machine, for trying it out and for
 * self-hosting. `deno serve main.ts` remains the entry the platforms and benches use; this one
 * adds what a person at a terminal needs: `--port`/`PORT` and `--host`/`HOST`, a one-line
 * message instead of a stack trace when the port is taken, and a banner with the page's URL, a
 * curl command to paste and whether verdicts are signed with a development key.
 *
 *   deno task start [--port 8000] [--host 127.0.0.1]
 */
import { parseArgs } from "node:util";
import { ENGINE_VERSION } from "../version.ts";
import { startFromEnv } from "./serve.ts";

const USAGE = "usage: deno task start [--port N] [--host ADDR]   (or PORT=N HOST=ADDR)";

function fail(message: string, code: number): never {
  console.error(`rollsafe: ${message}`);
  Deno.exit(code);
}

function options(args: string[]): { port: number; host: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: { port: { type: "string" }, host: { type: "string" }, help: { type: "boolean" } },
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 3);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const portText = values.port ?? Deno.env.get("PORT") ?? "8000";
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) fail(`port "${portText}" is not a number 0-65535`, 3);
  return { port, host: values.host ?? Deno.env.get("HOST") ?? "127.0.0.1" };
}

/** What a person needs at start: where the page is, a request to paste, and which key signs. */
export function banner(url: string, key: { kid: string; dev: boolean }): string {
  const fp = "tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.18host.json";
  return [
    `rollsafe ${ENGINE_VERSION}: Listening on ${url}`,
    `  page   ${url}  (upload a snapshot, read the verdict)`,
    `  API    ${url}openapi.json, docs ${url}docs`,
    `  try    curl -sS --data-binary @${fp} -H 'accept: application/json' \\`,
    `           '${url}v1/verdicts?target=amzn2023-6.1@neoverse-n1'`,
    key.dev
      ? `  key    DEVELOPMENT key ${key.kid}: its verdicts say dev_key: true and rollsafe verify ` +
        `refuses them without --accept-dev-key; for real ones: rollsafe keygen, then set ` +
        `ROLLSAFE_SIGNING_KEY_FILE`
      : `  key    ${key.kid} (production)`,
  ].join("\n");
}

if (import.meta.main) {
  const { port, host } = options(Deno.args);
  const { app, services } = startFromEnv();
  const signer = await services.signer().catch((e) =>
    fail(`cannot load the signing key: ${(e as Error).message}`, 3)
  );
  try {
    Deno.serve({
      port,
      hostname: host,
      onListen: ({ hostname, port }) => {
        const h = hostname.includes(":") ? `[${hostname}]` : hostname;
        console.error(banner(`http://${h}:${port}/`, signer));
      },
    }, app.fetch);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      fail(
        `port ${port} on ${host} is already in use (another rollsafe?); choose another with --port N or PORT=N`,
        3,
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      fail(`cannot listen on ${host}:${port}: ${(e as Error).message}`, 3);
    }
    throw e;
  }
}
