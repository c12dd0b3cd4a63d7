/**
 * `node bench/redaction-throughput.ts [--seconds 2]`: what PII and secret redaction costs, in MB/s and ms per KB
 * of CPU, on the labelled corpus's texts and on JSON tool results of 1, 10 and 100 KB (order records with
 * customer emails, phones and addresses in some of them), against baselines measured in the same run on the same
 * payloads: one pass of a single email regex over the text, JSON.stringify of the value, and SHA-256 of it (the
 * journal hashes every payload anyway).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type EntityClass, redactText, redactValue } from "../src/guards/index.ts";
import type { NewEvent } from "../src/journal/events.ts";
import { protectEvent, redactionPolicyOf } from "../src/runtime/protect-events.ts";
import { announceMachine, reportMachineLoad } from "./machine-cpu.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, not ${values.seconds}`);

const ALL: ReadonlySet<EntityClass> = new Set(["pii", "secrets"]);
const SECRETS: ReadonlySet<EntityClass> = new Set(["secrets"]);

const corpus = readFileSync("test/fixtures/pii-corpus.jsonl", "utf8")
  .trim()
  .split("\n")
  .map((line) => (JSON.parse(line) as { text: string }).text);

/** A tool result of about `bytes` of JSON: order records, one in three naming a customer's contact details. */
function toolResult(bytes: number): unknown {
  const orders: unknown[] = [];
  for (let index = 0; JSON.stringify(orders).length < bytes; index += 1) {
    orders.push({
      orderId: `A${String(100_000 + index)}`,
      status: index % 4 === 0 ? "delivered" : "in transit",
      placedAt: `2025-0${(index % 9) + 1}-1${index % 10}T10:2${index % 10}:00Z`,
      items: [
        {
          sku: `LK-${1000 + index}`,
          name: "Linen duvet cover, queen",
          quantity: 1 + (index % 3),
          price: 89.5,
        },
        { sku: `LK-${2000 + index}`, name: "Stoneware mug set", quantity: 2, price: 24 },
      ],
      ...(index % 3 === 0
        ? {
            customer: {
              email: `customer${index}@posteo.de`,
              phone: `+44 20 7946 ${String(1000 + index).slice(-4)}`,
              address: `${index + 1} Willow Creek Road, Leeds`,
            },
          }
        : {}),
      note: index % 5 === 0 ? "Customer asked for delivery after 5pm; leave with the neighbour." : "",
    });
  }
  return { orders };
}

type Measured = { wallMsPerKb: number; cpuMsPerKb: number; mbPerSecond: number };

/** `work` over the inputs repeatedly for about `seconds`, per KB of `bytes`: wall and this process's CPU time. */
function measure<T>(inputs: readonly T[], bytes: number, work: (input: T) => unknown): Measured {
  for (const input of inputs) work(input);
  let rounds = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  while (performance.now() - started < seconds * 1_000) {
    for (const input of inputs) work(input);
    rounds += 1;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const kilobytes = bytes / 1_024;
  const cpuMs = (cpu.user + cpu.system) / 1_000 / rounds;
  return {
    wallMsPerKb: (performance.now() - started) / rounds / kilobytes,
    cpuMsPerKb: cpuMs / kilobytes,
    mbPerSecond: bytes / 1_048_576 / (cpuMs / 1_000),
  };
}

const EMAIL_ONLY = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const row = (name: string, subject: Measured, baselines: Array<[string, Measured]>) =>
  `| ${name} | ${subject.mbPerSecond.toFixed(1)} | ${subject.cpuMsPerKb.toFixed(4)} | ${baselines
    .map(
      ([label, baseline]) =>
        `${label} ${baseline.mbPerSecond.toFixed(0)} MB/s (${(subject.cpuMsPerKb / baseline.cpuMsPerKb).toFixed(1)}×)`,
    )
    .join("; ")} |`;

const before = announceMachine("redaction throughput");
console.log(
  "\n| payload | redaction MB/s (CPU) | redaction CPU ms/KB | baselines in the same run (redaction cost ×) |",
);
console.log("|---|---:|---:|---|");

const corpusBytes = corpus.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
console.log(
  row(
    `corpus texts (${corpus.length}), pii + secrets`,
    measure(corpus, corpusBytes, (text) => redactText(text, ALL)),
    [
      ["one email regex pass", measure(corpus, corpusBytes, (text) => text.match(EMAIL_ONLY))],
      ["SHA-256", measure(corpus, corpusBytes, (text) => createHash("sha256").update(text).digest("hex"))],
    ],
  ),
);
for (const size of [1_024, 10_240, 102_400]) {
  const value = toolResult(size);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  const stringify = measure([value], bytes, (input) => JSON.stringify(input));
  const sha = measure([value], bytes, (input) =>
    createHash("sha256").update(JSON.stringify(input)).digest("hex"),
  );
  for (const [label, classes] of [
    ["pii + secrets", ALL],
    ["secrets only (journal default)", SECRETS],
  ] as const) {
    console.log(
      row(
        `JSON tool result ${size / 1_024} KB, ${label}`,
        measure([value], bytes, (input) => redactValue(input, classes)),
        [
          ["JSON.stringify", stringify],
          ["stringify + SHA-256", sha],
        ],
      ),
    );
  }
}
const event: NewEvent = {
  type: "tool-call-end",
  payload: {
    step: 1,
    callId: "c1",
    tool: "get_order",
    outcome: "ok",
    result: toolResult(2_048),
    durationMs: 3,
  },
};
const policy = redactionPolicyOf({ runId: "run_bench", guards: undefined });
const eventBytes = Buffer.byteLength(JSON.stringify(event.payload));
const perEvent = measure([event], eventBytes, (input) => protectEvent(input, policy));
console.log(
  `\nprotectEvent on a tool-call-end with a ${(eventBytes / 1_024).toFixed(1)} KB result (default policy, secrets): ${(((perEvent.cpuMsPerKb * eventBytes) / 1_024) * 1_000).toFixed(0)} µs CPU per event`,
);
reportMachineLoad(before);
