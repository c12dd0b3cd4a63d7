/**
 * The support-triage example agent: tier-1 customer support for a fictional shop, with order look-ups, refunds,
 * tickets, email and a searchable help centre in its own `shop` schema. A composition root registers it as is.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import { setupShop } from "./shop/setup-shop.ts";
import { createSupportTools } from "./tools/create-support-tools.ts";

/** The agent package: where its spec lives, how to set up its tables, and how to build its tools. */
export const supportTriage = {
  name: "support-triage",
  specFile: join(import.meta.dirname, "agent.yaml"),
  setup: setupShop,
  createTools: createSupportTools,
} satisfies AgentPackage;
