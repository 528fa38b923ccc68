/**
 * `deno serve` entry point: the rollsafe HTTP service with embedded defaults.
 * `deno task start` serves it on http://127.0.0.1:8000 (configuration: functions/config.ts).
 */
import { startFromEnv } from "./functions/serve.ts";

const { app } = startFromEnv();

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;
