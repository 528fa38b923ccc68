/**
 * Deno Deploy entry point (bundled to dist/deno-deploy.js by `deno task bundle`). Deploy runs the
 * file with Deno.serve; locally the same file runs with `deno run -A dist/deno-deploy.js`
 * (PORT and HOST choose the address; the default 0.0.0.0:8000 is what a platform that honours
 * them needs, so set HOST=127.0.0.1 to keep a local run private).
 */
import { startFromEnv } from "../serve.ts";

const { app } = startFromEnv();
Deno.serve(
  {
    port: Number(Deno.env.get("PORT") ?? 8000),
    hostname: Deno.env.get("HOST") ?? "0.0.0.0",
  },
  app.fetch,
);
