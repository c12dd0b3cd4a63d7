/**
 * Chaos: `keel serve` on a PostgreSQL that is shut down for 10 s three times while runs are being started and
 * interpreted. The process must stay up, answer 503 (never 500) and report not-ready during each outage, report
 * ready again after it, and every run it accepted must complete.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { openStore } from "../../src/store/open-store.ts";
import { findPostgresBinaries, startTemporaryPostgres } from "../support/temporary-postgres.ts";

const entry = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const OUTAGES = 3;
const OUTAGE_MS = 10_000;
/** Load between outages, long enough for runs to be in every stage when the next one starts. */
const BETWEEN_MS = 2_500;
const INPUTS = [
  "Where is my order 1042?",
  "how long does a refund take?",
  "track 1038",
  "Where is my order 1036?",
];

// Like the other PostgreSQL tests: skipped on a machine without PostgreSQL, never under CI=true.
const skip =
  findPostgresBinaries() === null && process.env.CI !== "true"
    ? "PostgreSQL is not installed on this machine (apt-get install postgresql)"
    : false;

/** What the load saw, by kind of answer. */
type Tally = { accepted: string[]; unavailable: number; unexpected: string[] };

/** Start runs through the API every `everyMs` until stopped, sorting every answer. */
function startLoad(base: string, everyMs: number) {
  const tally: Tally = { accepted: [], unavailable: 0, unexpected: [] };
  let stopped = false;
  let count = 0;
  const start = async () => {
    count += 1;
    const input = INPUTS[count % INPUTS.length]!;
    try {
      const response = await fetch(`${base}/v1/agents/support-triage/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input, idempotencyKey: `chaos-${count}` }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json()) as { id?: string; error?: { code: string } };
      if ((response.status === 202 || response.status === 200) && body.id) tally.accepted.push(body.id);
      else if (
        response.status === 503 &&
        body.error?.code === "unavailable" &&
        response.headers.get("retry-after") !== null
      )
        tally.unavailable += 1;
      else tally.unexpected.push(`${response.status} ${JSON.stringify(body)}`);
    } catch (error) {
      tally.unexpected.push(`request failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await start();
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  const bursts: Promise<void>[] = [];
  return {
    tally,
    /** Start `size` runs at once, so some are mid-step when the database goes away. */
    burst(size: number) {
      bursts.push(...Array.from({ length: size }, async () => await start()));
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(bursts);
    },
  };
}

async function probe(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

/** Wait until `check` holds; on timeout, say what the last check saw (an answer, or why it had none). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const seen: string[] = [];
  for (;;) {
    const at = Date.now() - started;
    const held = await check().catch((error: unknown) => {
      if (error instanceof assert.AssertionError) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
      seen.push(`${at} ms: ${error instanceof Error ? error.message : String(error)}${cause}`);
      return false;
    });
    if (held) return Date.now() - started;
    if (seen.length === 0 || !seen.at(-1)!.startsWith(`${at} ms`)) seen.push(`${at} ms: not yet`);
    assert.ok(
      Date.now() - started < timeoutMs,
      `timed out after ${timeoutMs} ms waiting until ${what}; checks: ${seen.slice(-8).join("; ")}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test("keel serve survives PostgreSQL stopped for 10 s three times under load: 503 and not ready during each outage, every run completes after", {
  skip,
  timeout: 240_000,
}, async () => {
  const started = Date.now();
  const postgres = await startTemporaryPostgres();
  let stderr = "";
  let interrupted = 0;
  let serve: ChildProcess | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    serve = spawn(process.execPath, [entry, "serve", "--port", "0", "--grace-period", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DATABASE_URL: postgres.url },
    });
    serve.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => serve!.once("exit", (code) => resolve(code)));
    let base = "";
    for await (const line of createInterface({ input: serve.stdout! })) {
      const match = /Keel is running at (\S+)/.exec(line);
      if (match) {
        base = match[1]!;
        break;
      }
    }
    assert.ok(base, `keel serve did not start:\n${stderr}`);
    assert.equal((await probe(base, "/readyz")).status, 200);

    const traffic = startLoad(base, 100);
    load = traffic;
    for (let outage = 1; outage <= OUTAGES; outage += 1) {
      await new Promise((resolve) => setTimeout(resolve, BETWEEN_MS));
      const unavailableBefore = traffic.tally.unavailable;
      traffic.burst(12);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await postgres.halt();
      const down = Date.now();
      // During the outage: the process answers, liveness holds, readiness and the API say 503. On a busy machine
      // the server may take a while to notice, so readiness has the whole outage to turn.
      await until(
        `/readyz answers 503 in outage ${outage}`,
        async () => {
          assert.equal(
            serve!.exitCode,
            null,
            `keel serve exited in outage ${outage}:\n${stderr.slice(-3_000)}`,
          );
          const answer = await probe(base, "/readyz");
          if (answer.status !== 503) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
          return true;
        },
        OUTAGE_MS,
      );
      assert.deepEqual(await probe(base, "/healthz"), { status: 200, body: { ok: true, store: "postgres" } });
      await until(
        `a run start is answered 503 in outage ${outage}`,
        async () => traffic.tally.unavailable > unavailableBefore,
        OUTAGE_MS,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - down))));
      assert.equal((await probe(base, "/readyz")).status, 503);
      assert.equal(serve.exitCode, null, `keel serve exited during outage ${outage}:\n${stderr}`);
      await postgres.restart();
      await until(
        `/readyz answers 200 after outage ${outage}`,
        async () => (await probe(base, "/readyz")).status === 200,
        15_000,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await traffic.stop();

    assert.deepEqual(traffic.tally.unexpected, [], "every answer was an accepted run or 503 unavailable");
    assert.ok(
      traffic.tally.accepted.length >= 20,
      `only ${traffic.tally.accepted.length} runs were accepted`,
    );
    assert.ok(traffic.tally.unavailable >= OUTAGES);

    // Every run in the store — those the API accepted and any whose creation committed as a connection broke —
    // completes after the outages, resumed from its journal once its lease expired.
    const store = await openStore({ databaseUrl: postgres.url });
    try {
      const open = async () =>
        (
          await store.sql.query<{ status: string; n: number }>(
            "SELECT status, count(*)::int AS n FROM keel_runs WHERE status <> 'completed' GROUP BY status",
          )
        ).rows;
      await until("every run completed", async () => (await open()).length === 0, 60_000).catch(
        async (error) => {
          assert.fail(
            `${(error as Error).message}: ${JSON.stringify(await open())}\n${stderr.slice(-3_000)}`,
          );
        },
      );
      const accepted = await store.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM keel_runs WHERE run_id = ANY($1::text[]) AND status = 'completed'",
        [traffic.tally.accepted],
      );
      assert.equal(accepted.rows[0]!.n, new Set(traffic.tally.accepted).size);
      const resumed = await store.sql.query<{ n: number }>(
        "SELECT count(DISTINCT run_id)::int AS n FROM keel_events WHERE type = 'run-resume'",
      );
      interrupted = resumed.rows[0]!.n;
    } finally {
      await store.close();
    }

    assert.equal(serve.exitCode, null, `keel serve exited:\n${stderr}`);
    assert.doesNotMatch(stderr, /Unhandled 'error' event|internal error on/);
    serve.kill("SIGTERM");
    assert.equal(await exited, 0, stderr.slice(-3_000));
    console.log(
      `chaos: ${load.tally.accepted.length} runs accepted, ${load.tally.unavailable} answered 503, ` +
        `${interrupted} resumed after an interruption, ${Date.now() - started} ms`,
    );
  } finally {
    // A failed assertion must not leave the load running: it would keep this test file alive forever.
    const stopping = load?.stop();
    if (serve && serve.exitCode === null && serve.signalCode === null) serve.kill("SIGKILL");
    await stopping;
    await postgres.stop();
  }
});
