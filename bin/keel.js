#!/usr/bin/env node
// The `keel` executable. Plain JavaScript that any Node can parse, so an older Node gets a clear message instead of
// a syntax error. In a checkout it runs the TypeScript sources; in the installed package, the compiled dist/.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    `keel needs Node.js ${REQUIRED_MAJOR} or later, but ${process.execPath} is Node.js ${process.versions.node}.\n` +
      `Install Node.js ${REQUIRED_MAJOR} (https://nodejs.org) and put it first in PATH, then run keel again.\n`,
  );
  process.exit(1);
}
void import("node:fs").then(async ({ existsSync }) => {
  const source = new URL("../src/cli/main.ts", import.meta.url);
  const base = existsSync(source) ? "../src/cli/" : "../dist/cli/";
  const extension = existsSync(source) ? ".ts" : ".js";
  const { main, processIo } = await import(new URL(`${base}index${extension}`, import.meta.url).href);
  process.exitCode = await main(process.argv.slice(2), processIo());
});
