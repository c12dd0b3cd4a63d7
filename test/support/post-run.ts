import assert from "node:assert/strict";
import type { SqlStore } from "../../src/store/sql-store.ts";

/**
 * Start a run through the HTTP API (`POST /v1/agents/{agent}/runs`, with `key` as its bearer key when given) and
 * wait, reading the store every 25 ms for up to 20 s, until it is neither queued nor running. Returns its id; the
 * caller asserts the status it expects.
 */
export async function postRunAndSettle(options: {
  url: string;
  store: SqlStore;
  agent: string;
  input: string;
  key?: string;
}): Promise<string> {
  const started = await fetch(`${options.url}/v1/agents/${options.agent}/runs`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
    },
    body: JSON.stringify({ input: options.input }),
  });
  assert.equal(started.status, 202, await started.clone().text());
  const runId = ((await started.json()) as { id: string }).id;
  for (let attempt = 0; attempt < 800; attempt++) {
    const run = await options.store.getRun(runId);
    if (run && !["queued", "running"].includes(run.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return runId;
}
