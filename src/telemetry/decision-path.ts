import { KeelError } from "../errors/index.ts";
import { PATH_VERBS } from "./summarize-run.ts";

/** One step of a decision-path query: a tool (or any, `*`) and what happened to it. */
export type PathStep = { tool: string; verb: string };

/**
 * Read a path query such as `issue_refund:denied > issue_refund:approved > issue_refund:failed > issue_refund:retried`:
 * steps in order (`>` or `,` between them), each `tool:verb` or `*:verb`. The run's path must contain them in that
 * order, with anything in between.
 */
export function parsePathQuery(text: string): PathStep[] {
  const steps = text
    .split(/[>,]/)
    .map((step) => step.trim())
    .filter((step) => step.length > 0);
  if (steps.length === 0) throw new KeelError("invalid_request", "the path query has no steps");
  return steps.map((step) => {
    const at = step.lastIndexOf(":");
    const tool = at === -1 ? "*" : step.slice(0, at).trim();
    const verb = (at === -1 ? step : step.slice(at + 1)).trim();
    if (!(PATH_VERBS as readonly string[]).includes(verb)) {
      throw new KeelError(
        "invalid_request",
        `unknown path step "${verb}"; use one of ${PATH_VERBS.join(", ")}`,
        {
          issues: [{ path: "path", message: `"${step}" is not tool:verb` }],
        },
      );
    }
    if (!/^[\w.*-]+$/.test(tool)) {
      throw new KeelError("invalid_request", `"${tool}" is not a tool name`, {
        issues: [{ path: "path", message: `"${step}" is not tool:verb` }],
      });
    }
    return { tool, verb };
  });
}

/**
 * The LIKE pattern matching runs whose path column (`|tool:verb|…|`) holds the steps in order. Neighbouring steps
 * share one `|`, so each step is matched as `|tool:verb` and only the last closes with `|`; no verb is a prefix of
 * another, so a step cannot match the start of a longer one.
 */
export function pathPattern(steps: readonly PathStep[]): string {
  const parts = steps.map((step) =>
    step.tool === "*" ? `|%:${step.verb}` : `|${escapeLike(step.tool)}:${step.verb}`,
  );
  return `%${parts.join("%")}|%`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
