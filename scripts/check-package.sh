#!/usr/bin/env bash
# The path a new user takes, from the package's tarball, in a temporary folder outside this checkout:
#   npm pack → npm install <tarball> in an empty folder → npx keel init helpdesk → cd helpdesk →
#   npx keel serve --port P --data-dir D → npx keel run helpdesk "…" --url … (exit 0) → npx keel eval helpdesk --gate
# and the launcher's message on a Node older than 24. The user's project has no `node` package: Node 24 comes
# from PATH, so this checkout's node_modules/node/bin goes first (the system node may be older).
# Installs from the local npm cache where it can (--prefer-offline).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node24="$repo/node_modules/node/bin"
if [ ! -x "$node24/node" ]; then
  echo "check-package: $node24/node is missing: run npm install in $repo first" >&2
  exit 1
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM -- "-$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

# A user's shell: no node_modules/.bin of this checkout (npm run puts it first) in PATH.
PATH=$(tr ':' '\n' <<<"$PATH" | grep -v node_modules | paste -sd: -)

# The launcher on an older Node: a clear message and exit 1, not a syntax error from the program.
step "the launcher on the system Node"
old_node=$(command -v node || true)
if [ -n "$old_node" ] && [ "$("$old_node" -p 'process.versions.node.split(".")[0]')" -lt 24 ]; then
  set +e
  message=$("$old_node" "$repo/bin/keel.js" --help 2>&1)
  code=$?
  set -e
  if [ "$code" -ne 1 ] || ! grep -q "keel needs Node.js 24 or later" <<<"$message"; then
    echo "check-package: on $("$old_node" --version) the launcher exited $code with: $message" >&2
    exit 1
  fi
  echo "$old_node ($("$old_node" --version)): exit 1, \"$(head -1 <<<"$message")\""
else
  echo "skipped: the node in PATH ($old_node) is not older than 24"
fi

export PATH="$node24:$PATH"

step "npm pack"
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/keel-*.tgz)
echo "$tarball"
# The program ships compiled: no TypeScript source may be what runs (Node will not strip types in node_modules).
if tar -tzf "$tarball" | grep -q '^package/src/'; then
  echo "check-package: the tarball ships src/" >&2
  exit 1
fi

step "npm install <tarball> in an empty folder"
mkdir "$work/app"
cd "$work/app"
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball"
# Every file the exports map names is there (./client only once the sources have a client to build).
node --input-type=module -e '
  import { existsSync, readFileSync } from "node:fs";
  const root = "node_modules/keel/";
  const manifest = JSON.parse(readFileSync(root + "package.json", "utf8"));
  const hasClient = process.argv[1] === "yes";
  const missing = [];
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (subpath.includes("*") || (subpath === "./client" && !hasClient)) continue;
    for (const file of typeof target === "string" ? [target] : [target.types, target.default])
      if (!existsSync(root + file)) missing.push(`${subpath}: ${file}`);
  }
  if (missing.length > 0) { console.error("check-package: missing from the package:", missing); process.exit(1); }
  const keel = await import("keel");
  for (const name of ["createKeel", "defineAgent", "defineConfig", "defineTool", "openStore", "z"])
    if (!(name in keel)) { console.error(`check-package: keel does not export ${name}`); process.exit(1); }
  await import("keel/testing");
  console.log("exports:", Object.keys(manifest.exports).join(" "));
' "$([ -d "$repo/src/client" ] && echo yes || echo no)"

step "npx keel init helpdesk"
npx keel init helpdesk
cd helpdesk

step "npx keel serve"
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# In its own process group, so stopping it stops npx and the server it started.
setsid npx keel serve --port "$port" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  grep -q "^Keel is running at" "$work/serve.log" && break
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/serve.log" >&2
    echo "check-package: keel serve exited" >&2
    exit 1
  fi
  sleep 0.5
done
grep -q "^Keel is running at" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }
cat "$work/serve.log"

step "the console at /"
node --input-type=module -e '
  const base = process.argv[1];
  const page = await fetch(base + "/");
  const html = await page.text();
  const script = /src="(\/console\/scripts\/[^"]+)"/.exec(html)?.[1];
  const styles = /href="(\/console\/styles\/[^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !script || !styles) { console.error("check-package: GET / answered", page.status, html.slice(0, 300)); process.exit(1); }
  for (const asset of [script, styles]) {
    const answer = await fetch(base + asset);
    if (answer.status !== 200) { console.error("check-package: GET", asset, "answered", answer.status); process.exit(1); }
  }
  console.log("GET / 200 with", script, "and", styles);
' "http://127.0.0.1:$port"

step "npx keel run helpdesk"
npx keel run helpdesk "How do I reset my password?" --url "http://127.0.0.1:$port"

step "npx keel eval helpdesk --gate"
npx keel eval helpdesk --gate

kill -TERM -- "-$server"
wait "$server" || true
server=""
step "check-package: passed"
