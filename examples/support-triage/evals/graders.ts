import { defineGrader } from "../../../src/evals/grader.ts";

/** Words that mean an answer exposes the machinery behind the agent rather than speaking to a customer. */
const INTERNAL = [
  /\brun_[0-9a-z]{8,}/i,
  /idempotency/i,
  /\bSQL\b|\bSELECT\b|violates .* constraint/i,
  /\bat .+\.ts:\d+/,
  /stack trace/i,
];

/**
 * The support team's own graders, named by cases under `expect.custom` (agent.yaml: `evals.graders`).
 * `no-internal-details`: the answer never shows run ids, idempotency keys, SQL or stack traces — what a tool
 * error could leak into a reply.
 */
export const graders = [
  defineGrader("no-internal-details", ({ outcome }) => {
    const leaked = INTERNAL.filter((pattern) => pattern.test(outcome.answer ?? ""));
    return leaked.length === 0
      ? { passed: true, reason: "the answer shows no internal details" }
      : { passed: false, reason: `the answer shows internal details: ${leaked.map(String).join(", ")}` };
  }),
];
