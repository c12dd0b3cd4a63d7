import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { agentPackages } from "../../examples/index.ts";
import { openStore } from "../store/open-store.ts";
import { type ServerOptions, startServer } from "./start-server.ts";

/** The timers the process holds now: what would keep it alive, or keep polling a closed store. */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

/** Start a server that must fail; close its store as `keel serve` does, then watch what goes on running. */
async function failedStart(
  options: Pick<ServerOptions, "env" | "port">,
  expected: (error: NodeJS.ErrnoException) => boolean,
): Promise<{ logsAfter: string[]; timersBefore: number; timersAfter: number }> {
  const timersBefore = timers();
  const store = await openStore({});
  const logs: string[] = [];
  try {
    await assert.rejects(
      startServer({
        store,
        packages: agentPackages,
        host: "127.0.0.1",
        log: (line) => logs.push(line),
        ...options,
      }),
      expected,
    );
  } finally {
    await store.close();
  }
  const failedAt = logs.length;
  // The governor refreshes every second and the trace projector polls four times a second: wait out both.
  await sleep(1_500);
  return { logsAfter: logs.slice(failedAt), timersBefore, timersAfter: timers() };
}

describe("starting the server", () => {
  test("a server that cannot listen stops everything it started, so nothing polls the store once it is closed", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const address = taken.address();
    assert.ok(address && typeof address === "object");
    try {
      const outcome = await failedStart(
        { env: {}, port: address.port },
        (error) => error.code === "EADDRINUSE",
      );
      assert.deepEqual(outcome.logsAfter, [], "nothing may run against the closed store");
      assert.equal(outcome.timersAfter, outcome.timersBefore, "every timer the server started is stopped");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test("a bad setting met after listening stops the listener, the worker and every timer before it is reported", async () => {
    const outcome = await failedStart({ env: { KEEL_AUDIT_CHECKPOINT_EVENTS: "many" }, port: 0 }, (error) =>
      /KEEL_AUDIT_CHECKPOINT_EVENTS must be a whole number/.test(error.message),
    );
    assert.deepEqual(outcome.logsAfter, [], "nothing may run against the closed store");
    assert.equal(outcome.timersAfter, outcome.timersBefore, "every timer the server started is stopped");
    assert.ok(!process.getActiveResourcesInfo().includes("TCPServerWrap"), "the listener is closed");
  });
});
