import { assertEquals } from "@std/assert";
import { createApp } from "../functions/app.ts";
import { ENGINE_VERSION } from "../version.ts";

Deno.test("GET /v1/version names the engine version", async () => {
  const res = await createApp().request("/v1/version");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { name: "rollsafe", version: ENGINE_VERSION });
});
