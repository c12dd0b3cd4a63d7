import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { seededRandom } from "../evals/statistics.ts";
import { GuardsSection } from "../spec/index.ts";
import { inspectableText, inspectForInjection } from "./inspect-for-injection.ts";

const ANSWERS = [
  "acme says hello",
  "Your order 7731 shipped this morning.",
  "The meeting room is free after 3pm.",
  "No invoices are overdue.",
  "I could not find that customer.",
  "Done: the report was exported as CSV.",
  "The refund was approved by the billing team yesterday.",
  "Two of the three suppliers answered.",
  "The assistant summarised the thread: the launch moves to March.",
  "It is 14 degrees and cloudy in Oslo.",
  "The agent closed ticket 4410 as resolved.",
  "pong",
  "ok",
  "Translation: Merci, à demain.",
  "The contract has 12 pages; clause 7 covers termination.",
  "Stock for SKU-220: 41 units.",
];
const STATES = ["completed", "working", "submitted", "input-required", "done", "ok"];
const AGENTS = ["acme-helper", "billing", "research-agent", "scheduler", "support-assistant", "weather"];

/** A remote agent's or a tool's JSON answer with fresh ids, timestamps and a short benign answer. */
function structuredAnswer(next: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const hex = (length: number) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join("");
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789";
  const token = (length: number) =>
    Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
  const time = new Date(Date.UTC(2026, 0, 1) + Math.floor(next() * 3e10)).toISOString();
  const answer = pick(ANSWERS);
  switch (Math.floor(next() * 4)) {
    case 0:
      return { status: pick(STATES), agent: pick(AGENTS), taskId: uuid(), answer };
    case 1:
      return {
        kind: "task",
        id: uuid(),
        contextId: uuid(),
        status: { state: pick(STATES), timestamp: time },
        artifacts: [{ artifactId: uuid(), parts: [{ kind: "text", text: answer }] }],
      };
    case 2:
      return {
        ok: true,
        request_id: `req_${token(20)}`,
        trace: `00-${hex(32)}-${hex(16)}-01`,
        created: Math.floor(next() * 2e9),
        result: { id: Math.floor(next() * 1e6), sha256: hex(64), text: answer },
      };
    default:
      return { messageId: token(24), role: "agent", taskId: uuid(), at: time, parts: [{ text: answer }] };
  }
}

describe("structured tool results under the rules with the learned model", () => {
  test("500 generated JSON answers with random ids, hashes and timestamps are never flagged", async () => {
    const agent = {
      ...scriptedAgent({ turns: [] }),
      guards: GuardsSection.parse({ injection: { builtIn: "combined" } }),
    };
    // Seeded, so a failure names a case that can be run again.
    const next = seededRandom(20_261_207);
    const flagged: string[] = [];
    for (let index = 0; index < 500; index++) {
      const result = structuredAnswer(next);
      for (const text of [inspectableText(result, "ask the remote agent"), JSON.stringify(result)]) {
        const finding = await inspectForInjection({
          agent,
          text,
          action: "review",
          where: { kind: "tool-result", tool: "acme-helper", callId: `c${index}` },
          signal: AbortSignal.timeout(5_000),
        });
        if (finding) flagged.push(`#${index} ${finding.verdict.score}: ${text}`);
      }
    }
    assert.deepEqual(flagged, []);
  });
});
