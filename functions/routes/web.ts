/**
 * The web page (a verdict viewer, functions/web/page.ts) at `/` and the API docs drawn from
 * /openapi.json at `/docs`. Both are served from memory with a policy that allows only their own
 * inline script and style and requests back to this origin.
 */
import type { RouteDef } from "../route.ts";
import { DOCS, PAGE } from "../web/page.ts";

const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  // blob: for the .cose download link the page makes from the answer.
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' blob:; form-action 'none'; base-uri 'none'",
};

function html(path: string, operationId: string, summary: string, body: string): RouteDef {
  return {
    method: "get",
    path,
    operationId,
    summary,
    tag: "meta",
    responses: { "200": { description: "HTML", content: { "text/html": { type: "string" } } } },
    problems: [],
    handle: () => new Response(body, { headers: HEADERS }),
  };
}

export const WEB_ROUTES: RouteDef[] = [
  html("/", "page", "A web page to upload a snapshot and read the verdict", PAGE),
  html("/docs", "docs", "The API reference, drawn from /openapi.json", DOCS),
];
