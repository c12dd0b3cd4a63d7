/**
 * `node bench/governor-decisions.ts [--quick] [--json bench/out/governor.json]`: what the governor costs.
 *
 * - Policy decision latency at 10, 100 and 1,000 policies: Keel's policy step (the Cedar question asked for the
 *   agent and for the user, combined into allow/review/deny), against the raw cedar-wasm call on the same
 *   pre-parsed policy set and request — the in-run baseline.
 * - The full governed tool call: kill switch, identity and scope, argument check and hash, Cedar policy, rate
 *   limit (token bucket, memory store), capability token (EdDSA JWT), and the journaled decision (the
 *   `policy-decision` payload built, validated against its schema and hashed as the store does). The durable
 *   commit is not counted: the decision rides on the `tool-call-start` commit the runtime makes anyway.
 * - Governed tool calls per second on one core: this process is single-threaded, so its rate is one core's.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { cedarVersion, createCedarPolicyEngine } from "../src/governance/cedar-policy-engine.ts";
import { compileAgentPolicies } from "../src/governance/compile-agent-policies.ts";
import { createGovernor } from "../src/governance/create-governor.ts";
import { buildPolicyQuestion, evaluatePolicies } from "../src/governance/evaluate-policies.ts";
import { createMemoryGovernanceStore } from "../src/governance/memory-governance-store.ts";
import { parseNewEvent } from "../src/journal/events.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { policyDecisionPayload } from "../src/runtime/decide-tool-call.ts";
import { formatTable, ms, rate, times } from "./format-table.ts";
import { benchGovernedAgent, benchRequest } from "./governor-fixtures.ts";
import { type LatencySummary, summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, json: { type: "string" } },
});
const measured = values.quick ? 2_000 : 20_000;
const warmup = values.quick ? 500 : 5_000;
const throughputMs = values.quick ? 1_000 : 5_000;
const signal = new AbortController().signal;

function time(count: number, operation: (index: number) => void): number[] {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    operation(index);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function timeAsync(count: number, operation: (index: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await operation(index);
    samples.push(performance.now() - started);
  }
  return samples;
}

type Row = {
  policies: number;
  naive: LatencySummary;
  raw: LatencySummary;
  decision: LatencySummary;
  governed: LatencySummary;
  perSecond: number;
};

const rows: Row[] = [];
for (const count of [10, 100, 1_000]) {
  const engine = createCedarPolicyEngine();
  const governor = createGovernor({ store: createMemoryGovernanceStore(), engine, log: () => undefined });
  const agent = benchGovernedAgent(count);
  await governor.load(agent);
  const loaded = governor.loaded(agent.name, agent.version)!;
  if (loaded.enforcedCount !== count)
    throw new Error(`built ${loaded.enforcedCount} policies, wanted ${count}`);
  const tool = loaded.tools.get("issue_refund")!;
  const requests = Array.from({ length: 64 }, (_, index) => benchRequest(index));

  // Baseline 1, naive: one raw cedar-wasm call for the agent with the whole policy set and the whole request.
  const wholeSet = `naive:${count}`;
  cedar.preparsePolicySet(wholeSet, { staticPolicies: compileAgentPolicies(agent).texts });
  const first = buildPolicyQuestion(loaded, requests[0]!, tool, requests[0]!.tool!.arguments);
  const fullContext = first.context({ whole: true, children: new Map() });
  const allEntities = Object.values(first.entities);
  const naive = () => {
    const answer = cedar.statefulIsAuthorized({
      principal: loaded.agentRef,
      action: first.action,
      resource: first.resource,
      context: fullContext as cedar.Context,
      preparsedPolicySetId: wholeSet,
      entities: allEntities as cedar.EntityJson[],
    });
    if (answer.type !== "success" || answer.response.decision !== "allow")
      throw new Error("naive did not allow");
  };
  // Baseline 2: the one raw call Keel makes for the agent side, on its indexed set with its pruned request.
  const agentSide = loaded.enforce.get(first.action.id)!.agent;
  if (agentSide.kind !== "cedar") throw new Error("the agent side should need Cedar");
  const prunedContext = first.context(agentSide.context);
  const someEntities = [
    ...(agentSide.principalEntity ? [first.entities.agent] : []),
    ...(agentSide.resourceEntity ? [first.entities.resource] : []),
    ...(agentSide.actionEntity ? [first.entities.action] : []),
  ];
  const raw = () => {
    const answer = cedar.statefulIsAuthorized({
      principal: loaded.agentRef,
      action: first.action,
      resource: first.resource,
      context: prunedContext as cedar.Context,
      preparsedPolicySetId: agentSide.all,
      entities: someEntities as cedar.EntityJson[],
    });
    if (answer.type !== "success" || answer.response.decision !== "allow")
      throw new Error("baseline did not allow");
  };
  const decide = (index: number) => {
    const request = requests[index % requests.length]!;
    const question = buildPolicyQuestion(loaded, request, tool, request.tool!.arguments);
    const outcome = evaluatePolicies(engine, loaded, loaded.enforce, question, request.principal);
    if (outcome.decision !== "allow") throw new Error(`expected allow, got ${outcome.decision}`);
  };
  const governed = async (index: number) => {
    const request = requests[index % requests.length]!;
    const decision = await governor.decide(request, { signal });
    if (decision.decision !== "allow") throw new Error(`expected allow: ${decision.reasons.join("; ")}`);
    decision.inFlight?.end();
    const event = parseNewEvent({
      type: "policy-decision",
      payload: policyDecisionPayload(request, decision),
    });
    hashPayload(event.payload);
  };

  time(warmup, naive);
  time(warmup, raw);
  time(warmup, decide);
  await timeAsync(warmup, governed);
  const naiveSummary = summarizeLatencies(time(measured, naive));
  const rawSummary = summarizeLatencies(time(measured, raw));
  const decisionSummary = summarizeLatencies(time(measured, decide));
  const governedSummary = summarizeLatencies(await timeAsync(measured, governed));
  let completed = 0;
  const started = performance.now();
  while (performance.now() - started < throughputMs) {
    await governed(completed);
    completed += 1;
  }
  rows.push({
    policies: count,
    naive: naiveSummary,
    raw: rawSummary,
    decision: decisionSummary,
    governed: governedSummary,
    perSecond: completed / ((performance.now() - started) / 1_000),
  });
}

console.log(
  `governor bench (${values.quick ? "quick: too noisy to quote" : "full"}): Cedar ${cedarVersion()}, Node ${process.version}`,
);
console.log(`${measured} measured calls per figure after ${warmup} warm-up calls; times in milliseconds`);
console.log(
  formatTable(
    [
      "policies",
      "naive cedar p50",
      "p99",
      "raw cedar p50",
      "p99",
      "decision p50",
      "p99",
      "vs naive p50",
      "governed p50",
      "p95",
      "p99",
      "governed calls/s, 1 core",
    ],
    rows.map((row) => [
      String(row.policies),
      ms(row.naive.p50),
      ms(row.naive.p99),
      ms(row.raw.p50),
      ms(row.raw.p99),
      ms(row.decision.p50),
      ms(row.decision.p99),
      times(row.decision.p50 / row.naive.p50),
      ms(row.governed.p50),
      ms(row.governed.p95),
      ms(row.governed.p99),
      rate(row.perSecond, "/s"),
    ]),
  ),
);
if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(
    values.json,
    `${JSON.stringify({ cedar: cedarVersion(), node: process.version, measured, warmup, rows }, null, 2)}\n`,
  );
}
