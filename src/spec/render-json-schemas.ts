import { z } from "zod";
import { AgentSpec } from "./agent-spec.ts";
import { DatasetFile } from "./eval-dataset.ts";
import { PolicyTests } from "./policy-tests.ts";
import { RulesTable } from "./rules-table.ts";
import { WorkflowSpec } from "./workflow-spec.ts";

/**
 * The JSON Schemas editors use for autocomplete and hover docs, by file name under `schemas/`, as file text.
 * They describe what an author writes (the input side), so fields with defaults are optional. Draft 7 because
 * it is what YAML language servers support best.
 */
export function renderJsonSchemas(): Record<string, string> {
  return {
    "agent-spec.schema.json": render(AgentSpec),
    "workflow-spec.schema.json": render(WorkflowSpec),
    "rules-table.schema.json": render(RulesTable),
    "policy-tests.schema.json": render(PolicyTests),
    "eval-dataset.schema.json": render(DatasetFile),
  };
}

function render(schema: z.ZodType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: "input", target: "draft-7" }), null, 2)}\n`;
}
