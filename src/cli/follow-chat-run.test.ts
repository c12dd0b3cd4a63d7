import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createApiClient } from "./api-client.ts";
import { followChatRun } from "./follow-chat-run.ts";

/**
 * What the chat prints when the live text and the journal disagree, which a real server does only in races (a
 * stream joined after the turn was written, a turn made afresh): a loopback server plays the frames of such a
 * stream, as `GET /v1/runs/{id}/events` writes them.
 */
type Frame = { event: string; data: unknown; id?: number };

const delta = (text: string, index: number, turn = 2): Frame => ({
  event: "text-delta",
  data: { delta: text, index, turn },
});
const journaled = (seq: number, type: string, payload: unknown): Frame => ({
  id: seq,
  event: type,
  data: { seq, type, runId: "run_1", payload },
});
const answerTurn = (seq: number, text: string) =>
  journaled(seq, "model-call-end", { step: 2, decision: { kind: "answer", text } });
const runEnd = (seq: number, answer: string) =>
  journaled(seq, "run-end", { status: "completed", steps: 2, answer });

describe("following a chat's run", () => {
  let server: Server;
  let frames: Frame[] = [];

  before(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const frame of frames) {
        response.write(
          `${frame.id === undefined ? "" : `id: ${frame.id}\n`}event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`,
        );
      }
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function follow(played: Frame[]): Promise<string> {
    frames = played;
    const { port } = server.address() as AddressInfo;
    let text = "";
    await followChatRun({
      client: createApiClient(`http://127.0.0.1:${port}`),
      runId: "run_1",
      agent: "helper",
      write: (chunk) => {
        text += chunk;
      },
      onHeld: () => undefined,
      onSettled: () => undefined,
    });
    return text;
  }

  test("prints streamed text as it comes and, when it is the journaled answer, only once", async () => {
    const text = await follow([
      delta("It", 0),
      delta(" shipped.", 1),
      answerTurn(5, "It shipped."),
      runEnd(6, "It shipped."),
    ]);
    assert.equal(text, "helper> It shipped.\n\n");
  });

  test("prints the journaled answer when no text was streamed", async () => {
    const text = await follow([answerTurn(5, "It shipped."), runEnd(6, "It shipped.")]);
    assert.equal(text, "helper> It shipped.\n");
  });

  test("prints the journaled answer, marked, when the streamed text differs from it", async () => {
    const text = await follow([delta(" shipped", 1), answerTurn(5, "It shipped."), runEnd(6, "It shipped.")]);
    assert.equal(text, "helper> … shipped\n\nhelper> (as journaled) It shipped.\n");
  });

  test("shows a tool call the policy denies with the arguments as journaled and the reasons", async () => {
    const text = await follow([
      journaled(3, "tool-call-propose", {
        step: 1,
        callId: "call_1",
        tool: "issue_refund",
        arguments: { orderId: 1017, amount: "900.00", note: "[REDACTED:email]" },
        argumentsHash: "sha256:x",
      }),
      journaled(4, "policy-decision", {
        callId: "call_1",
        action: "issue_refund",
        decision: "deny",
        reasons: ["refunds above 500 go to the finance team"],
      }),
      answerTurn(5, "I can't refund that here."),
      runEnd(6, "I can't refund that here."),
    ]);
    assert.equal(
      text,
      '  ✖ issue_refund {"orderId":1017,"amount":"900.00","note":"[REDACTED:email]"} denied by policy: refunds above 500 go to the finance team\nhelper> I can\'t refund that here.\n',
    );
  });
});
