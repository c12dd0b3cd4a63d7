/**
 * Keel's module rules (docs/architecture.md §3): which folder under src/ may import which.
 * `npm run lint` runs this; CI fails on any violation.
 */
const allowed = {
  errors: [],
  spec: [],
  journal: ["spec", "errors"],
  store: ["journal", "spec", "errors"],
  models: ["spec", "journal", "errors"],
  tools: ["spec", "errors"],
  governance: ["spec", "journal", "store", "errors"],
  telemetry: ["journal", "store", "spec", "errors"],
  approvals: ["spec", "journal", "store", "governance", "errors"],
  registry: ["spec", "store", "errors"],
  guards: [],
  runtime: ["spec", "journal", "store", "models", "tools", "governance", "approvals", "guards", "errors"],
  memory: ["spec", "store", "models", "tools", "guards", "errors"],
  evals: ["runtime", "models", "governance", "store", "journal", "spec", "tools", "errors"],
  api: ["governance", "journal", "registry", "errors"],
  client: ["api", "errors"],
  connectors: ["spec", "journal", "store", "tools", "guards", "errors"],
  rollout: ["spec", "journal", "store", "governance", "approvals", "errors"],
  deployments: ["rollout", "runtime", "spec", "journal", "store", "errors"],
};

/**
 * The one exception to "other modules only through their index.ts": api/ is what `keel/client` loads, which must
 * load nothing but zod (src/client/client.test.ts), and an index loads every file it names. So api/ takes the
 * vocabulary it shares with the server from these files directly, and they must stay free of other imports.
 */
const clientVocabulary = ["src/journal/events.ts", "src/registry/lifecycle-rules.ts"];

const modules = Object.keys(allowed);
const forbidden = modules.map((name) => ({
  name: `${name}-imports-only-what-it-may`,
  comment: `src/${name}/ may import only: ${allowed[name].join(", ") || "nothing else in src/"}`,
  severity: "error",
  from: { path: `^src/${name}/` },
  to: {
    path: "^src/",
    pathNot: [`^src/${name}/`, ...allowed[name].map((other) => `^src/${other}/`)],
  },
}));

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: "nothing-imports-the-composition-roots",
      comment:
        "server/ and cli/ are composition roots; only cli/ and the package's entry points (src/index.ts) may use server/",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|server)/|^src/[^/]+\\.ts$" },
      to: { path: "^src/(server|cli)/" },
    },
    {
      name: "server-does-not-import-cli",
      severity: "error",
      from: { path: "^src/server/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "other-modules-only-through-their-index",
      comment:
        "a module's face is its index.ts: a file in src/<a>/ imports src/<b>/ (b ≠ a) only through src/<b>/index.ts",
      severity: "error",
      from: { path: "^src/([^/]+)/", pathNot: "^src/api/" },
      to: { path: "^src/[^/]+/", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"] },
    },
    {
      name: "api-only-through-indexes-or-the-client-vocabulary",
      comment:
        "api/ imports other modules through their index.ts, or the client vocabulary files (see above)",
      severity: "error",
      from: { path: "^src/api/" },
      to: {
        path: "^src/[^/]+/",
        pathNot: [
          "^src/api/",
          "^src/[^/]+/index\\.ts$",
          ...clientVocabulary.map((file) => `^${file.replaceAll(".", "\\.")}$`),
        ],
      },
    },
    {
      name: "client-vocabulary-imports-nothing-else-of-keel",
      comment: "the client vocabulary files are loaded by keel/client: they import nothing else from src/",
      severity: "error",
      from: { path: clientVocabulary.map((file) => `^${file.replaceAll(".", "\\.")}$`) },
      to: { path: "^src/" },
    },
    {
      name: "not-through-its-own-index",
      comment:
        "a file inside a module imports its siblings directly, never its own module's index.ts (a cycle)",
      severity: "error",
      from: { path: "^src/([^/]+)/", pathNot: "^src/[^/]+/index\\.ts$" },
      to: { path: "^src/$1/index\\.ts$" },
    },
    {
      name: "entry-points-only-through-indexes",
      comment:
        "the package's entry points (src/index.ts, src/testing.ts) import each module through its index.ts",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$" },
      to: { path: "^src/[^/]+/", pathNot: "^src/[^/]+/index\\.ts$" },
    },
    { name: "no-cycles", severity: "error", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
