/**
 * Keel's governed endpoint in its own process for the gateway benchmarks: PGlite store (cost records batched
 * into it), one API key, the OpenAI adapter pointed at the loopback provider. Prints its base URL.
 * argv: <provider base URL> [--budget] (a daily key budget, so every call reserves and settles).
 */
import { serve } from "@hono/node-server";
import { createSqlBudgetLedger } from "../src/governance/budget-ledger-sql.ts";
import { createEnvModelGateway } from "../src/server/bind-agent-package.ts";
import { createChatCompletionsRoute } from "../src/server/chat-completions.ts";
import { openStore } from "../src/store/open-store.ts";

const [providerUrl, ...flags] = process.argv.slice(2);
const flag = flags.includes("--budget") ? "--budget" : undefined;
// PostgreSQL when KEEL_BENCH_DATABASE_URL is set (the scale-out setup), else embedded PGlite in memory.
const store = await openStore({ databaseUrl: process.env.KEEL_BENCH_DATABASE_URL });
const gateway = createEnvModelGateway({ env: { OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: providerUrl } });
const route = createChatCompletionsRoute({
  gateway,
  ...(flags.includes("--no-ledger") ? {} : { ledger: createSqlBudgetLedger(store.sql) }),
  keys: [
    {
      id: "bench",
      secret: "keel-bench-key",
      tenant: "bench",
      ...(flag === "--budget" ? { budgets: { perDay: { usd: 1_000_000 } } } : {}),
    },
  ],
  log: (message) => process.stderr.write(`${message}\n`),
});
const server = serve({ fetch: route.app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
  process.stdout.write(`http://127.0.0.1:${info.port}/v1\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void route
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
