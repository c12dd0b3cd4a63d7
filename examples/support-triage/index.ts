/**
 * The support-triage example agent: tier-1 customer support for a fictional shop, with order look-ups, refunds,
 * tickets, email and a searchable help centre in its own `shop` schema. A composition root registers it as is.
 */
import { join } from "node:path";
import { ingestKnowledgeBase } from "../../src/memory/ingest-knowledge-base.ts";
import { MemoryStore } from "../../src/memory/memory-store.ts";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import type { SqlClient } from "../../src/store/store.ts";
import { setupShop } from "./shop/setup-shop.ts";
import { createSupportTools } from "./tools/create-support-tools.ts";

/**
 * The agent package: where its spec lives (and a candidate version served beside it for rollouts), how to set up its
 * tables, and how to build its tools.
 */
export const supportTriage = {
  name: "support-triage",
  specFile: join(import.meta.dirname, "agent.yaml"),
  versions: [join(import.meta.dirname, "versions", "1.1.0.yaml")],
  setup: setupSupportTriage,
  createTools: createSupportTools,
} satisfies AgentPackage;

/** The shop's tables, and the help centre ingested as the `help-centre` knowledge base `recall` searches (idempotent). */
async function setupSupportTriage(sql: SqlClient): Promise<void> {
  await setupShop(sql);
  await ingestKnowledgeBase({
    store: new MemoryStore(sql),
    tenant: "default",
    kb: "help-centre",
    directory: join(import.meta.dirname, "kb"),
    embedder: null,
    freshnessMs: 365 * 86_400_000,
  });
}
