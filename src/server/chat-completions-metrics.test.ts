import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { supportTriage } from "../../examples/support-triage/index.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const promtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;
const MODEL = "claude-haiku-4-5-20251001";

/** The samples of one metric family whose labels include every `label="value"` given, as name{labels} → value. */
function samples(text: string, name: string, labels: Record<string, string>): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (Object.entries(labels).every(([key, value]) => match[2]!.includes(`${key}="${value}"`)))
      found.set(`${match[1]}{${match[2]}}`, Number(match[3]));
  }
  return found;
}

function only(found: Map<string, number>): [string, number] {
  assert.equal(found.size, 1, `expected one sample, found ${JSON.stringify([...found])}`);
  return [...found][0]!;
}

describe("the OpenAI-compatible endpoint in the GenAI metrics", () => {
  let store: SqlStore;
  let anthropic: LoopbackProvider;
  let keel: Keel;

  before(async () => {
    store = await openStore();
    anthropic = await startLoopbackProvider({ wire: "anthropic" });
    keel = await createKeel({
      store,
      agents: [supportTriage],
      env: { ANTHROPIC_API_KEY: "sk-ant", ANTHROPIC_BASE_URL: anthropic.baseUrl },
      log: () => undefined,
      timers: false,
    });
  });
  after(async () => {
    await keel.close();
    await anthropic.close();
    await store.close();
  });

  const complete = async (content: string) =>
    await keel.fetch(
      new Request("http://127.0.0.1/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: `anthropic/${MODEL}`, messages: [{ role: "user", content }] }),
      }),
    );

  test("counts a call's tokens and duration under gen_ai_* with its provider, model and caller, and a failed call with its error type, and promtool accepts the scrape", async () => {
    anthropic.push({
      reply: { text: "Hello, Dana.", usage: { input: 2_000, output: 12, cacheRead: 1_500 } },
    });
    const answered = await complete("hello");
    assert.equal(answered.status, 200, await answered.clone().text());
    anthropic.push({ status: 400, error: "invalid", message: "messages: too long" });
    const refused = await complete("a prompt the provider refuses");
    assert.ok(refused.status >= 400, `status ${refused.status}`);
    const { error } = (await refused.json()) as { error: { code: string } };

    const scrape = await keel.fetch(new Request("http://127.0.0.1/metrics"));
    assert.equal(scrape.status, 200);
    const text = await scrape.text();
    const call = {
      gen_ai_operation_name: "chat",
      gen_ai_provider_name: "anthropic",
      gen_ai_request_model: MODEL,
      phase: "execution",
    };

    const tokens = (type: string) =>
      only(samples(text, "gen_ai_client_token_usage_sum", { ...call, gen_ai_token_type: type }));
    const [inputSample, input] = tokens("input");
    assert.match(inputSample, /agent="key:[^"]+"/);
    const caller = /agent="(key:[^"]+)"/.exec(inputSample)![1]!;
    assert.equal(input, 2_000);
    assert.equal(tokens("output")[1], 12);
    assert.equal(tokens("cache_read")[1], 1_500);
    assert.equal(
      only(samples(text, "gen_ai_client_token_usage_count", { ...call, gen_ai_token_type: "input" }))[1],
      1,
      "the failed call used no tokens",
    );

    const durations = samples(text, "gen_ai_client_operation_duration_seconds_count", {
      ...call,
      agent: caller,
    });
    assert.equal(durations.size, 2, JSON.stringify([...durations]));
    const failed = [...durations].filter(([sample]) => sample.includes("error_type="));
    assert.equal(failed.length, 1);
    assert.ok(failed[0]![0].includes(`error_type="${error.code}"`), failed[0]![0]);
    assert.equal(failed[0]![1], 1);
    const succeeded = [...durations].filter(([sample]) => !sample.includes("error_type="));
    assert.deepEqual(
      succeeded.map(([, count]) => count),
      [1],
    );

    if (promtool) {
      const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "zero findings");
    }
  });
});
