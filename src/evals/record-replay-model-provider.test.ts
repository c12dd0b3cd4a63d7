import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { GenerateOptions, ModelProvider } from "../models/model-provider.ts";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { createRecordReplayModelProvider } from "./record-replay-model-provider.ts";

const request = (input: string, toolResult?: string): GenerateOptions => ({
  system: "be brief",
  messages: [
    { role: "user", content: input },
    ...(toolResult === undefined
      ? []
      : [
          { role: "assistant" as const, content: "", toolCalls: [{ callId: "c", tool: "t", arguments: {} }] },
          { role: "tool" as const, callId: "c", tool: "t", content: toolResult, isError: false },
        ]),
  ],
  tools: [],
  params: {},
  signal: new AbortController().signal,
});

describe("record and replay of model turns", () => {
  test("records live turns to a file, then replays them without calling any model", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "keel-recording-")), "turns.json");
    let calls = 0;
    const live: ModelProvider = {
      ...createScriptedModelProvider({
        turns: (r) => ({
          kind: "answer",
          text: `echo ${String(r.messages[0]?.content)} #${r.messages.length}`,
        }),
      }),
      provider: "anthropic",
      model: "claude",
      offline: false,
    };
    const counting: ModelProvider = {
      ...live,
      generate: async (r) => {
        calls += 1;
        return await live.generate(r);
      },
    };
    const recorder = await createRecordReplayModelProvider({ inner: counting, file, mode: "record" });
    assert.equal(recorder.offline, false);
    const first = await recorder.generate(request("a"));
    await recorder.generate(request("a", "ticket 1"));
    await recorder.save();
    assert.equal(calls, 2);
    assert.equal(JSON.parse(await readFile(file, "utf8")).format, "keel-model-recording/v1");

    const replay = await createRecordReplayModelProvider({ inner: null, file, mode: "replay" });
    assert.equal(replay.offline, true);
    assert.deepEqual(await replay.generate(request("a")), first);
    // A later turn is found by position even when a tool result (an id, a time) differs, and is flagged as drift.
    const later = await replay.generate(request("a", "ticket 2"));
    assert.equal(later.decision.kind === "answer" && later.decision.text, "echo a #3");
    assert.deepEqual(replay.stats, { replayed: 2, recorded: 0, drifted: 1 });
    await assert.rejects(replay.generate(request("b")), /no recorded model turn/);
    assert.equal(calls, 2);

    const auto = await createRecordReplayModelProvider({ inner: counting, file, mode: "auto" });
    await auto.generate(request("a"));
    await auto.generate(request("b"));
    assert.deepEqual(auto.stats, { replayed: 1, recorded: 1, drifted: 0 });
    assert.equal(calls, 3);
  });
});
