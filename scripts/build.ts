/**
 * `npm run build` (and `npm pack`, through prepack): compile src/ to JavaScript and `.d.ts` under dist/, with the
 * files the compiled code reads beside it (the store's SQL migrations), and the console's bundle (web/dist/).
 * Tests are left out. Development runs the
 * sources directly; only the package runs dist/.
 */
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { buildConsole } from "./build-console.ts";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", new URL("tsconfig.build.json", root).pathname], {
  stdio: "inherit",
});
cpSync(new URL("src/store/migrations/", root), new URL("store/migrations/", dist), { recursive: true });
await buildConsole({ force: true });
