import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import { registerRoute } from "./register-route.ts";

/**
 * Where the built console lives: `web/dist/` at the package root, which is two folders up both from
 * `src/server/` (development) and from `dist/server/` (the package). `npm start`, `npm test` and `npm pack` build it
 * (scripts/build-console.ts).
 */
export const CONSOLE_DIST = new URL("../../web/dist/", import.meta.url);

type ConsoleFile = { body: Uint8Array; etag: string; type: string };

/**
 * The operations console's page and assets (docs/console.md). Public, as they carry no tenant's data: the page
 * asks the API for everything it shows, with the caller's key. The page is read once; its script and style sheet
 * are named by their content hash, so they may be cached for good, while the page is revalidated.
 */
export function registerConsoleRoutes(app: Hono, options: { dist?: URL } = {}): void {
  const dist = options.dist ?? CONSOLE_DIST;
  let files: Map<string, ConsoleFile> | null = null;
  const load = (): Map<string, ConsoleFile> | null => {
    if (files) return files;
    try {
      if (!statSync(new URL("index.html", dist)).isFile()) return null;
    } catch {
      return null;
    }
    const loaded = new Map<string, ConsoleFile>();
    for (const name of readdirSync(dist)) {
      const type = name.endsWith(".html")
        ? "text/html; charset=utf-8"
        : name.endsWith(".js")
          ? "text/javascript; charset=utf-8"
          : name.endsWith(".css")
            ? "text/css; charset=utf-8"
            : name.endsWith(".txt")
              ? "text/plain; charset=utf-8"
              : null;
      if (!type) continue;
      const body = readFileSync(new URL(name, dist));
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      loaded.set(name, { body, etag, type });
    }
    files = loaded;
    return files;
  };
  const send = (context: Context, file: ConsoleFile, cache: string): Response => {
    if (context.req.header("if-none-match") === file.etag)
      return new Response(null, { status: 304, headers: { etag: file.etag, "cache-control": cache } });
    return new Response(file.body, {
      status: 200,
      headers: { "content-type": file.type, etag: file.etag, "cache-control": cache },
    });
  };
  const asset = (extension: string) => (input: { params: { file: string } }, context: Context) => {
    const name = input.params.file;
    const file = name.endsWith(extension) && !name.includes("/") ? load()?.get(name) : undefined;
    if (!file) throw new KeelError("not_found", `the console has no file ${name}`);
    return send(context, file, "public, max-age=31536000, immutable");
  };

  registerRoute(app, API_ROUTES.console, (_, context) => {
    const page = load()?.get("index.html");
    if (!page) {
      return context.html(
        "<!doctype html><title>Keel</title><p>The console is not built. Run <code>npm run build:console</code> in the Keel checkout, then reload.</p>",
        503,
      );
    }
    return send(context, page, "no-cache");
  });
  registerRoute(app, API_ROUTES.consoleScript, asset(".js"));
  registerRoute(app, API_ROUTES.consoleStyles, asset(".css"));
}
