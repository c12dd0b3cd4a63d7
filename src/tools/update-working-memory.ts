import { Ajv } from "ajv";
import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import { defineTool, type Tool } from "./tool.ts";

/** The built-in tool's name: an agent lists it in `tools` (and its governance) like any tool to use it. */
export const UPDATE_WORKING_MEMORY = "update_working_memory";

const ajv = new Ajv({ strict: false, allErrors: true });

/**
 * The built-in tool that replaces a session's working memory with a new value, checked against the JSON Schema the
 * spec's `workingMemory.schema` declares. It changes nothing outside the run: the value it returns is journaled
 * with its `tool-call-end`, and the session's working memory is the latest such value (a projection of the
 * journal). A value that does not fit the schema is refused as the tool's error, naming each field.
 */
export function createUpdateWorkingMemoryTool(schema: Record<string, unknown>): Tool {
  const validate = ajv.compile(schema);
  return defineTool({
    name: UPDATE_WORKING_MEMORY,
    description: `Replace this conversation's working memory (a scratchpad kept across its messages) with a new value. Send the whole value, not a change; keep what still matters. It must match this JSON Schema: ${JSON.stringify(schema)}`,
    input: z.object({
      value: z.record(z.string(), z.unknown()).describe("the whole new working memory, a JSON object"),
    }),
    async execute({ value }) {
      if (!validate(value)) {
        const issues = (validate.errors ?? []).map((error) => ({
          path: ["value", ...error.instancePath.split("/").slice(1)].join("."),
          message: error.message ?? "is not valid",
        }));
        throw new KeelError(
          "invalid_request",
          `the working memory does not match its schema: ${issues.map((issue) => `${issue.path} ${issue.message}`).join("; ")}`,
          { issues },
        );
      }
      return { value };
    },
  });
}

/** Check a working-memory JSON Schema compiles; the message of the first problem, or null. */
export function checkWorkingMemorySchema(schema: Record<string, unknown>): string | null {
  try {
    ajv.compile(schema);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
