import { parseYamlSource } from "./parse-yaml-source.ts";
import { RulesTable } from "./rules-table.ts";
import type { SpecIssue } from "./spec-error.ts";
import { validateYamlSource } from "./validate-yaml-source.ts";

/**
 * Parses and validates a rules table file. Beyond the schema (which also compiles every pattern), each
 * `call.tool` must be one of the agent's `tools` when those are known (null: not checked).
 */
export function parseRulesTable(
  file: string,
  text: string,
  tools: readonly string[] | null,
): { table: RulesTable | null; data: unknown; issues: SpecIssue[] } {
  const source = parseYamlSource(file, text);
  if (source.issues.length > 0) return { table: null, data: undefined, issues: source.issues };
  const { value, issues } = validateYamlSource(source, RulesTable);
  if (value === undefined) return { table: null, data: source.data, issues };
  if (tools !== null) {
    const listed = tools.length === 0 ? "it lists none" : tools.join(", ");
    for (const [index, rule] of value.rules.entries()) {
      if (rule.call === undefined || tools.includes(rule.call.tool)) continue;
      const path = ["rules", index, "call", "tool"];
      const message = `tool "${rule.call.tool}" is not in the agent's tools (${listed})`;
      issues.push({ file, ...source.locate(path), path: `rules[${index}].call.tool`, message });
    }
  }
  return { table: issues.length === 0 ? value : null, data: source.data, issues };
}
