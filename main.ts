/**
 * `deno serve` entry point: the rollsafe HTTP service with embedded defaults.
 * `deno task start` serves it on http://127.0.0.1:8000.
 */
import { createApp } from "./functions/app.ts";

const app = createApp();

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;
