import { z } from "zod";
import type { ModelProvider } from "../models/index.ts";
import type { JudgeRubric } from "./eval-case.ts";
import type { Grade, Grader } from "./grader.ts";

/** The tool a judge answers through, so its verdict is structured rather than prose to be parsed. */
export const JUDGE_TOOL = "submit_verdict";

const Verdict = z.object({
  criteria: z.record(z.string(), z.object({ pass: z.boolean(), rationale: z.string().default("") })),
  rationale: z.string().default(""),
});

/**
 * An LLM-as-judge grader: asks a model (through the gateway, or a recorded or scripted stand-in) to score the
 * run's answer against a rubric, one pass/fail per criterion, with a rationale. The score is the share of
 * criteria met; the case passes when all are. A judge that has not met the calibration bar is `advisory`: its
 * grade is reported but never decides a case or a gate.
 */
export function judgeGrader(options: {
  name: string;
  rubric: JudgeRubric;
  model: ModelProvider;
  advisory: boolean;
}): Grader {
  const { name, rubric, model, advisory } = options;
  const criteriaNames = rubric.criteria.map((criterion) => criterion.name);
  const system = [
    "You are an evaluator. Grade the assistant's answer to the user against the rubric.",
    `Rubric: ${rubric.rubric}`,
    "Criteria (answer pass or fail for each):",
    ...rubric.criteria.map((criterion) => `- ${criterion.name}: ${criterion.description}`),
    `Call ${JUDGE_TOOL} exactly once with your verdict.`,
  ].join("\n");
  const inputSchema = {
    type: "object",
    required: ["criteria", "rationale"],
    properties: {
      criteria: {
        type: "object",
        required: criteriaNames,
        properties: Object.fromEntries(
          criteriaNames.map((criterion) => [
            criterion,
            {
              type: "object",
              required: ["pass", "rationale"],
              properties: { pass: { type: "boolean" }, rationale: { type: "string" } },
            },
          ]),
        ),
      },
      rationale: { type: "string" },
    },
  };
  return {
    name: `judge.${name}`,
    kind: "judge",
    async grade({ case: evalCase, outcome, signal }): Promise<Grade> {
      const shown = [
        `User: ${evalCase.input}`,
        `Assistant (${outcome.status}): ${outcome.answer ?? "(no answer)"}`,
        `Tools called: ${outcome.toolCalls.map((call) => `${call.tool} ${JSON.stringify(call.arguments)} → ${call.decision ?? "undecided"}`).join("; ") || "none"}`,
        ...(evalCase.expect.reference ? [`Reference answer: ${evalCase.expect.reference}`] : []),
      ].join("\n");
      const base = { grader: `judge.${name}`, kind: "judge" as const, ...(advisory ? { advisory } : {}) };
      let parsed: z.infer<typeof Verdict>;
      try {
        const turn = await model.generate({
          system,
          messages: [{ role: "user", content: shown }],
          tools: [{ name: JUDGE_TOOL, description: "Record the verdict.", inputSchema }],
          params: { temperature: 0 },
          signal,
        });
        parsed = Verdict.parse(verdictPayload(turn.decision));
      } catch (error) {
        return {
          ...base,
          passed: false,
          score: 0,
          reason: `the judge gave no usable verdict: ${message(error)}`,
        };
      }
      const criteria = Object.fromEntries(
        criteriaNames.map((criterion) => [criterion, parsed.criteria[criterion]?.pass === true]),
      );
      const met = Object.values(criteria).filter(Boolean).length;
      return {
        ...base,
        passed: met === criteriaNames.length,
        score: met / criteriaNames.length,
        reason:
          parsed.rationale ||
          Object.entries(parsed.criteria)
            .map(([key, value]) => `${key}: ${value.rationale}`)
            .join("; "),
        criteria,
      };
    },
  };
}

/** The verdict from the judge's turn: its tool call's arguments, or JSON in its text. */
function verdictPayload(decision: Awaited<ReturnType<ModelProvider["generate"]>>["decision"]): unknown {
  if (decision.kind === "tool-calls") {
    const call = decision.calls.find((candidate) => candidate.tool === JUDGE_TOOL) ?? decision.calls[0];
    return call?.arguments;
  }
  const start = decision.text.indexOf("{");
  const end = decision.text.lastIndexOf("}");
  if (start < 0 || end < start) throw new Error("the judge answered without a verdict");
  return JSON.parse(decision.text.slice(start, end + 1));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
