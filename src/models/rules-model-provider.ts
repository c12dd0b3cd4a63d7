import { KeelError } from "../errors/index.ts";
import type { Rule, RulesTable, ValueTest } from "../spec/index.ts";
import { type GenerateOptions, type ModelProvider, type ModelTurn, runInputIndex } from "./model-provider.ts";
import { offlineSummary } from "./offline-summary.ts";
import { lookupPath, resolveTemplate } from "./resolve-template.ts";
import { streamTurnInDeltas } from "./stream-turn-in-deltas.ts";

/** What a rule can look at: the user's input, its captures and the tool results so far. */
type RuleScope = {
  input: string;
  captures: Record<string, string>;
  last: { tool: string; result: unknown; error: { message: string } | null } | null;
  results: Record<string, unknown>;
  called: ReadonlySet<string>;
};

/**
 * The `rules` engine: a deterministic decision table standing in for a model offline (and useful for fixed
 * flows). First matching rule wins. It is an offline stand-in and reports itself as such. Streamed, an answer
 * arrives word by word.
 */
export function createRulesModelProvider(options: { table: RulesTable; model?: string }): ModelProvider {
  const rules = options.table.rules.map((rule) => ({ rule, pattern: compileInputPattern(rule) }));
  return {
    provider: "rules",
    model: options.model ?? "rules",
    offline: true,
    // Through `this`, so a wrapper that replaces `generate` (to count or record calls) sees streamed turns too.
    async *stream(request) {
      yield* streamTurnInDeltas(await this.generate(request), { signal: request.signal });
    },
    async generate(request: GenerateOptions): Promise<ModelTurn> {
      request.signal.throwIfAborted();
      const summary = offlineSummary(request);
      if (summary) return summary;
      const scope = buildScope(request);
      for (const { rule, pattern } of rules) {
        const captures = matchRule(rule, pattern, scope);
        if (!captures) continue;
        const where = `rule "${rule.name}"`;
        const filled = { ...scope, captures };
        const usage = { inputTokens: 0, outputTokens: 0 };
        if (rule.call) {
          const callId = `call_${request.messages.filter((message) => message.role === "assistant").length + 1}`;
          const args = resolveTemplate(rule.call.arguments, filled, where);
          return {
            decision: { kind: "tool-calls", calls: [{ callId, tool: rule.call.tool, arguments: args }] },
            usage,
          };
        }
        const answer = resolveTemplate(rule.answer ?? "", filled, where);
        // A mapping is a structured answer: sent as JSON, as a model asked for an output schema would.
        const text = typeof rule.answer === "object" ? JSON.stringify(answer) : String(answer);
        return { decision: { kind: "answer", text }, usage };
      }
      throw new KeelError(
        "model_failed",
        "no rule in the rules table matched; end the table with a catch-all rule",
      );
    },
  };
}

function compileInputPattern(rule: Rule): RegExp | null {
  const input = rule.when.input;
  if (input === undefined) return null;
  return typeof input === "string" ? new RegExp(input, "i") : new RegExp(input.pattern, input.flags);
}

function buildScope(request: GenerateOptions): RuleScope {
  const { messages } = request;
  // The run's input is its first own user message: a session's run carries earlier turns before it, and an answer
  // sent back for not matching the output schema comes after it.
  const start = runInputIndex(request);
  const first = messages[start];
  const input = first?.role === "user" ? first.content : "";
  const results: Record<string, unknown> = {};
  const called = new Set<string>();
  let last: RuleScope["last"] = null;
  // Only the run's own tool results: those carried from a session's earlier turns were for other questions.
  for (const message of messages.slice(start)) {
    if (message.role !== "tool") continue;
    called.add(message.tool);
    const error = message.isError ? { message: errorMessage(message.content) } : null;
    if (!message.isError) results[message.tool] = message.content;
    last = { tool: message.tool, result: message.isError ? null : message.content, error };
  }
  return { input, captures: {}, last, results, called };
}

function errorMessage(content: unknown): string {
  if (content && typeof content === "object" && "message" in content) return String(content.message);
  return typeof content === "string" ? content : JSON.stringify(content);
}

/** The captures of a matching rule, or null when a condition fails. */
function matchRule(rule: Rule, pattern: RegExp | null, scope: RuleScope): Record<string, string> | null {
  const when = rule.when;
  let captures: Record<string, string> = {};
  if (pattern) {
    const match = pattern.exec(scope.input);
    if (!match) return null;
    captures = { ...(match.groups ?? {}) };
  }
  if (when.lastTool !== undefined) {
    const lastTool = scope.last?.tool ?? "none";
    if (lastTool !== when.lastTool) return null;
  }
  if (when.lastError !== undefined && (scope.last?.error != null) !== when.lastError) return null;
  if (when.called?.some((tool) => !scope.called.has(tool))) return null;
  if (when.notCalled?.some((tool) => scope.called.has(tool))) return null;
  if (when.lastResult) {
    const result = scope.last?.result;
    for (const [path, test] of Object.entries(when.lastResult)) {
      if (!passesValueTest(lookupPath(result, path), test)) return null;
    }
  }
  return captures;
}

function passesValueTest(found: { found: boolean; value: unknown }, test: ValueTest): boolean {
  if (test === null || typeof test !== "object") return found.found && found.value === test;
  const value = found.value;
  if (test.exists !== undefined && found.found !== test.exists) return false;
  if (test.equals !== undefined && value !== test.equals) return false;
  if (
    test.matches !== undefined &&
    !(typeof value === "string" && new RegExp(test.matches, "i").test(value))
  ) {
    return false;
  }
  const number = typeof value === "number" ? value : Number.NaN;
  if (test.gt !== undefined && !(number > test.gt)) return false;
  if (test.gte !== undefined && !(number >= test.gte)) return false;
  if (test.lt !== undefined && !(number < test.lt)) return false;
  if (test.lte !== undefined && !(number <= test.lte)) return false;
  return true;
}
