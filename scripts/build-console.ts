/**
 * `npm run build:console` (and before `npm start`, `npm test` and `npm pack`): bundle the operations console
 * (web/src/, Preact and uPlot) into web/dist/ — one script and one style sheet named by their content hash,
 * the page that loads them, and the licences of the libraries bundled in. Uses esbuild's WebAssembly build, so
 * nothing native is installed. Skips the work when web/dist/ is newer than every source it is made from;
 * `--force` builds anyway.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const source = join(root, "web");
const dist = join(source, "dist");
const stamp = join(dist, "index.html");

/** The newest modification time among the console's sources and the lock file that pins its libraries. */
function newestSource(): number {
  let newest = statSync(join(root, "package-lock.json")).mtimeMs;
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(source, "src"));
  newest = Math.max(
    newest,
    statSync(join(source, "index.html")).mtimeMs,
    statSync(fileURLToPath(import.meta.url)).mtimeMs,
  );
  return newest;
}

export async function buildConsole(
  options: { force?: boolean; quiet?: boolean } = {},
): Promise<"built" | "fresh"> {
  if (!options.force && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource()) return "fresh";
  const { build } = await import("esbuild-wasm");
  // Build beside the old bundle and swap it in whole, so a server reading web/dist/ never sees half of one.
  const staging = `${dist}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: { app: join(source, "src", "main.tsx") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox121", "safari17"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    legalComments: "none",
    entryNames: "[name]-[hash]",
    outdir: staging,
    metafile: true,
    logLevel: "error",
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => relative(staging, join(root, path)));
  const script = outputs.find((name) => name.endsWith(".js"));
  const styles = outputs.find((name) => name.endsWith(".css"));
  if (!script || !styles)
    throw new Error(`the console's bundle lacks a script or a style sheet: ${outputs.join(", ")}`);
  const page = readFileSync(join(source, "index.html"), "utf8")
    .replace("{{script}}", script)
    .replace("{{styles}}", styles);
  writeFileSync(join(staging, "index.html"), page);
  writeFileSync(join(staging, "LICENSES.txt"), licences(Object.keys(result.metafile.inputs)));
  const old = `${dist}.old.${process.pid}`;
  try {
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(staging, dist);
  } catch (error) {
    // Another build (`npm test` beside `npm pack`) swapped its bundle in first; it was made from the same sources.
    if (!["ENOTEMPTY", "EEXIST", "ENOENT"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  if (!options.quiet) {
    const size = (name: string) => `${(statSync(join(dist, name)).size / 1024).toFixed(1)} KiB`;
    console.log(`console built: ${script} ${size(script)}, ${styles} ${size(styles)}`);
  }
  return "built";
}

/** The licence text of every package whose code the bundle carries, as their licences ask. */
function licences(inputs: string[]): string {
  const packages = new Set<string>();
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]!);
  }
  const parts = ["The Keel console bundles the following libraries, under their own licences.\n"];
  for (const name of [...packages].sort()) {
    const folder = join(root, "node_modules", name);
    const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as {
      version: string;
      license?: string;
    };
    const file = readdirSync(folder).find((entry) => /^licen[cs]e/i.test(entry));
    parts.push(`\n== ${name} ${manifest.version} (${manifest.license ?? "see below"})\n`);
    if (file) parts.push(readFileSync(join(folder, file), "utf8").trim(), "\n");
  }
  return parts.join("");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(dist), { recursive: true });
  const outcome = await buildConsole({ force: process.argv.includes("--force") });
  if (outcome === "fresh") console.log("console up to date");
}
