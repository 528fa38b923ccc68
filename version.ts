/** The project version, as in deno.json. */
export const ENGINE_VERSION = "0.1.0";
