/**
 * `node bench/sandbox-latency.ts [--quick]`: how long a code tool takes from the call to its result for a trivial
 * program, JavaScript and Python, against the same runtime started directly on the same program (no bwrap, no
 * prlimit, no setpriv) in the same run — the baseline. Two code tools per language: one with a sandbox started ahead
 * of each call (`prestarted: 1`, the default) and one that starts its sandbox when called (`prestarted: 0`). Calls
 * rotate between the three, so all see the same machine.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bindCodeTools } from "../src/connectors/index.ts";
import { CodeSection } from "../src/spec/index.ts";
import type { Tool } from "../src/tools/index.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const measured = values.quick ? 20 : 200;
const warmup = values.quick ? 5 : 20;

const programs = {
  javascript: { code: "console.log(6 * 7)", file: "main.js", runtime: [realpathSync(process.execPath)] },
  python: { code: "print(6 * 7)", file: "main.py", runtime: ["/usr/bin/python3", "-I", "-S"] },
} as const;

const { tools, close } = await bindCodeTools({
  specFile: "bench/agent.yaml",
  section: CodeSection.parse({
    tools: (["javascript", "python"] as const).flatMap((language) => [
      { name: `prestarted_${language}`, description: "Run code.", language },
      { name: `cold_${language}`, description: "Run code.", language, prestarted: 0 },
    ]),
  }),
  log: (message) => console.error(message),
});
const signal = new AbortController().signal;
const dir = mkdtempSync(join(tmpdir(), "keel-sandbox-bench-"));

async function sandboxed(language: keyof typeof programs, kind: "prestarted" | "cold"): Promise<void> {
  const tool = tools.find((each) => each.name === `${kind}_${language}`) as Tool<
    { code: string },
    { stdout: string }
  >;
  const result = await tool.execute(
    { code: programs[language].code },
    { runId: "bench", callId: "c", idempotencyKey: "k", signal },
  );
  if (result.stdout !== "42\n")
    throw new Error(`the sandboxed ${language} program answered ${JSON.stringify(result)}`);
}

async function direct(language: keyof typeof programs): Promise<void> {
  const { runtime, file } = programs[language];
  // No environment, as in the sandbox: npm's NODE_OPTIONS and the like would slow the baseline's start.
  const child = spawn(runtime[0]!, [...runtime.slice(1), join(dir, file)], {
    env: {},
    stdio: ["ignore", "pipe", "ignore"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  await new Promise((resolve) => child.once("close", resolve));
  if (stdout !== "42\n") throw new Error(`the direct ${language} program answered ${stdout}`);
}

const loadBefore = loadavg()[0]!.toFixed(2);
console.log(
  `Code tool start-to-result for a trivial program, ${measured} calls each after ${warmup} warm-up, interleaved (Node ${process.version}, load ${loadBefore})`,
);
for (const language of ["javascript", "python"] as const) {
  writeFileSync(join(dir, programs[language].file), programs[language].code);
  const samples = { direct: [] as number[], prestarted: [] as number[], cold: [] as number[] };
  const kinds = ["direct", "prestarted", "cold"] as const;
  for (let index = 0; index < warmup + measured; index++) {
    for (let offset = 0; offset < kinds.length; offset++) {
      const which = kinds[(index + offset) % kinds.length]!;
      const started = performance.now();
      await (which === "direct" ? direct(language) : sandboxed(language, which));
      if (index >= warmup) samples[which].push(performance.now() - started);
    }
  }
  const baseline = summarizeLatencies(samples.direct);
  console.log(
    `  ${language.padEnd(10)} direct               p50 ${baseline.p50.toFixed(1)} ms  p95 ${baseline.p95.toFixed(1)} ms [baseline]`,
  );
  for (const kind of ["prestarted", "cold"] as const) {
    const sandbox = summarizeLatencies(samples[kind]);
    console.log(
      `  ${language.padEnd(10)} sandboxed ${kind.padEnd(10)} p50 ${sandbox.p50.toFixed(1)} ms  p95 ${sandbox.p95.toFixed(1)} ms  ${(sandbox.p50 / baseline.p50).toFixed(2)}× direct p50: ${sandbox.p50 <= 50 ? "MET" : "NOT MET"} (goal p50 ≤ 50 ms)`,
    );
  }
}
console.log(`  load average after: ${loadavg()[0]!.toFixed(2)}`);
rmSync(dir, { recursive: true, force: true });
await close();
