import type { GovernedTool } from "../governance/index.ts";
import type { Tool } from "../tools/index.ts";
import { describeZodIssues, toolInputJsonSchema } from "../tools/index.ts";

/** What the governor needs to know of an agent's tools: schemas, data classes, and the tool's own argument check. */
export function governedTools(tools: Iterable<Tool>): GovernedTool[] {
  return [...tools].map((tool) => ({
    name: tool.name,
    inputSchema: toolInputJsonSchema(tool),
    dataClasses: tool.dataClasses ?? [],
    sendsDataOutside: tool.sendsDataOutside ?? false,
    sideEffect: tool.sideEffect,
    ...(tool.recordLimitArgument === undefined ? {} : { recordLimitArgument: tool.recordLimitArgument }),
    checkArguments(args) {
      const parsed = tool.input.safeParse(args);
      return parsed.success
        ? { ok: true, value: parsed.data }
        : { ok: false, message: describeZodIssues(parsed.error) };
    },
  }));
}
