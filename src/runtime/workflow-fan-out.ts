import {
  canonicalJson,
  type ErrorInfo,
  hashPayload,
  type NewEvent,
  TERMINAL_STATUSES,
} from "../journal/index.ts";
import type {
  AgentNodeDefinition,
  JoinPolicy,
  JsonValue,
  MapNodeDefinition,
  NodeCall,
  ParallelNodeDefinition,
} from "../spec/index.ts";
import { executeToolCallWave } from "./execute-tool-calls.ts";
import type { NodeContext } from "./graph.ts";
import type { FanOutProgress, RunState } from "./run-state.ts";
import { readReference, renderTemplate, valueText, type WorkflowScope } from "./workflow-values.ts";

/** What a workflow node reads and ends with; passed in so this file and the graph do not import each other. */
export type FanOutHelpers = {
  scope: (state: RunState) => WorkflowScope;
  fail: (context: NodeContext, code: string, message: string) => Promise<void>;
};

/** One branch as the engine runs it: its key in the journal, its call and the scope its templates read. */
type Branch = { key: string; call: NodeCall; writes?: string; item?: JsonValue };

/** A fan-out as the engine runs it: the node's branches and settings. */
type FanOut = {
  node: string;
  visit: number;
  branches: Branch[];
  join: JoinPolicy;
  concurrency: number;
  timeoutMs?: number;
};

/** How the engine left the node: settled one way or the other, or paused (suspended, interrupted, run ended). */
type Verdict = { kind: "ok" } | { kind: "failed"; branch: string; error: ErrorInfo } | { kind: "paused" };

/**
 * An `agent` node: the named agent runs as a child run of this one (its own journal, lease and governance), under
 * the idempotency key `<run>:<node>.<visit>`, and this run suspends until the store wakes it at the child's end.
 * The child's answer is the node's output; a child that did not complete fails the node and the run.
 */
export async function runAgentNode(
  node: AgentNodeDefinition,
  visit: number,
  context: NodeContext,
  helpers: FanOutHelpers,
): Promise<void> {
  const fan: FanOut = {
    node: node.name,
    visit,
    branches: [{ key: "", call: node.call }],
    join: { kind: "all" },
    concurrency: 1,
  };
  const verdict = await settle(fan, context, helpers);
  if (verdict.kind === "paused") return;
  const { journal } = context;
  if (verdict.kind === "failed") {
    await failNode(context, node.name, visit, verdict);
    return;
  }
  const output = journal.state.workflow.fanOut?.ended[""]?.output as JsonValue;
  // Staged, like every end derived from journaled facts (here the child's end): the next node's commit carries it.
  journal.stage({
    type: "node-end",
    payload: {
      node: node.name,
      visit,
      outcome: "ok",
      output,
      ...(node.writes === undefined ? {} : { writes: node.writes }),
      next: node.next,
    },
  });
}

/**
 * A `parallel` or `map` node: each branch a governed tool call in this run (call id `<node>.<visit>.<branch>`) or a
 * child run (idempotency key `<run>:<node>.<visit>.<branch>`), at most `concurrency` running at once, each settled
 * once in the journal (`branch-end`) and never run again, joined by the node's policy. A map's branch is the item's
 * index. Branch outputs are written as each branch settles; a map's `writes` receives the successful outputs in item
 * order at the end, and `failures` the failed branches.
 */
export async function runFanOutNode(
  node: ParallelNodeDefinition | MapNodeDefinition,
  visit: number,
  context: NodeContext,
  helpers: FanOutHelpers,
): Promise<void> {
  const { journal } = context;
  let branches: Branch[];
  if (node.kind === "parallel") {
    branches = node.branches.map((branch) => ({
      key: branch.name,
      call: branch.call,
      ...(branch.writes === undefined ? {} : { writes: branch.writes }),
    }));
  } else {
    const list = readReference(helpers.scope(journal.state), node.over);
    if (!Array.isArray(list)) {
      await helpers.fail(
        context,
        "invalid_map",
        `node ${node.name}: map.over is ${canonicalJson(list ?? null)}, not a list`,
      );
      return;
    }
    branches = list.map((item, index) => ({
      key: String(index),
      call: node.body.call,
      item,
      ...(node.body.writes === undefined ? {} : { writes: node.body.writes }),
    }));
  }
  const fan: FanOut = {
    node: node.name,
    visit,
    branches,
    join: node.join,
    concurrency: Math.max(1, node.concurrency ?? branches.length),
    ...(node.timeoutMs === undefined ? {} : { timeoutMs: node.timeoutMs }),
  };
  const verdict = await settle(fan, context, helpers);
  if (verdict.kind === "paused") return;
  const progress = journal.state.workflow.fanOut!;
  const failures = branches.flatMap((branch) => {
    const ended = progress.ended[branch.key];
    if (ended?.outcome !== "failed") return [];
    const error = ended.error ?? { code: "failed", message: "the branch failed" };
    const record = { code: error.code, message: error.message };
    return [
      node.kind === "parallel"
        ? { branch: branch.key, error: record }
        : { index: Number(branch.key), error: record },
    ];
  });
  const alsoWrites =
    node.failures !== undefined && failures.length > 0 ? [{ writes: node.failures, output: failures }] : [];
  if (verdict.kind === "failed") {
    await failNode(context, node.name, visit, verdict, alsoWrites);
    return;
  }
  const outputs = branches.flatMap((branch) => {
    const ended = progress.ended[branch.key];
    return ended?.outcome === "ok" ? [ended.output as JsonValue] : [];
  });
  const written = node.kind === "map" && node.writes !== undefined;
  // Staged with the branch ends: all derive from journaled call and child ends, so the next node's commit carries
  // them, and a crash before it derives the same again.
  journal.stage({
    type: "node-end",
    payload: {
      node: node.name,
      visit,
      outcome: "ok",
      ...(written ? { output: outputs, writes: node.writes } : {}),
      next: node.next,
      ...(alsoWrites.length > 0 ? { alsoWrites } : {}),
    },
  });
}

async function failNode(
  context: NodeContext,
  node: string,
  visit: number,
  verdict: Extract<Verdict, { kind: "failed" }>,
  alsoWrites: { writes: string; output: JsonValue }[] = [],
): Promise<void> {
  const where = verdict.branch === "" ? "" : ` branch ${verdict.branch}`;
  const message = `node ${node}${where}: ${verdict.error.message}`;
  await context.journal.commit(
    {
      type: "node-end",
      payload: {
        node,
        visit,
        outcome: "failed",
        error: { code: verdict.error.code, message },
        next: null,
        ...(alsoWrites.length > 0 ? { alsoWrites } : {}),
      },
    },
    {
      type: "run-end",
      payload: {
        status: "failed",
        error: { code: verdict.error.code, message },
        steps: context.journal.state.workflow.steps,
      },
    },
  );
}

/**
 * Drive the branches until the join settles or the run must wait. Each pass: journal the ends of child runs the
 * store reports (read once, `child-end`), settle the branches they belong to and those past their deadline (the
 * child cancelled, `branch_timeout`), judge the join, and start branches while fewer than `concurrency` run. With
 * nothing left to do now, the run suspends on its children and on the earliest branch deadline.
 */
async function settle(fan: FanOut, context: NodeContext, helpers: FanOutHelpers): Promise<Verdict> {
  const { journal } = context;
  if (context.signal.aborted || journal.state.status !== "running") return { kind: "paused" };
  // Once per entry (after a wake): a child that ends while this pass starts others passes the store's count, so the
  // suspend below is woken at once and the next entry reads it.
  await collectChildEnds(context);
  for (;;) {
    if (context.signal.aborted || journal.state.status !== "running") return { kind: "paused" };
    const progress = journal.state.workflow.fanOut!;
    // Branch ends read from journaled child ends are staged: lost in a crash, they are derived again.
    settleEndedChildren(fan, progress, context);
    await settleTimeouts(fan, progress, context);
    const verdict = judge(fan, progress);
    if (verdict.kind !== "paused") {
      await cancelRunning(fan, progress, context);
      return verdict;
    }
    const running = fan.branches.filter(
      (branch) => progress.started[branch.key] !== undefined && progress.ended[branch.key] === undefined,
    ).length;
    const next =
      running < fan.concurrency
        ? fan.branches.find(
            (branch) =>
              progress.started[branch.key] === undefined && progress.ended[branch.key] === undefined,
          )
        : undefined;
    if (next?.call.kind === "tool") {
      // Tool branches waiting their turn start together, as many as the concurrency cap leaves room for — under
      // `all` and `best-effort`, where every branch runs anyway. Under `any` and a quorum a success may settle the
      // join, so they start one at a time and none runs that the join no longer needs.
      const room = fan.join.kind === "all" || fan.join.kind === "best-effort" ? fan.concurrency - running : 1;
      const wave = fan.branches
        .filter(
          (branch) =>
            branch.call.kind === "tool" &&
            progress.started[branch.key] === undefined &&
            progress.ended[branch.key] === undefined,
        )
        .slice(0, room);
      if (!(await runToolWave(fan, wave, context, helpers))) return { kind: "paused" };
      continue;
    }
    if (next) {
      const started = await startBranch(fan, next, context, helpers);
      if (!started) return { kind: "paused" };
      continue;
    }
    if (running === 0) {
      // Every branch settled without the join deciding: only possible with no branches at all.
      return { kind: "ok" };
    }
    await suspendOnChildren(fan, progress, context);
    return { kind: "paused" };
  }
}

/** Journal `child-end` for every child of this run (any node's) that the store reports ended, in one commit. */
async function collectChildEnds(context: NodeContext): Promise<void> {
  const { journal } = context;
  const open = journal.state.workflow.children;
  const ids = Object.keys(open);
  if (ids.length === 0 || !context.children) return;
  const runs = await context.children.read(ids);
  const ends: NewEvent[] = [];
  for (const run of runs) {
    if (!TERMINAL_STATUSES.has(run.status)) continue;
    const child = open[run.runId]!;
    ends.push({
      type: "child-end",
      payload: {
        childRunId: run.runId,
        node: child.node,
        visit: child.visit,
        ...(child.branch === undefined ? {} : { branch: child.branch }),
        status: run.status as "completed" | "failed" | "cancelled" | "budget_exceeded",
        ...(run.answer === null ? {} : { answer: run.answer }),
        ...(run.error === null ? {} : { error: run.error }),
      },
    });
  }
  if (ends.length > 0) await journal.commit(...ends);
}

/** Stage the `branch-end` of each branch whose child run has ended. */
function settleEndedChildren(fan: FanOut, progress: FanOutProgress, context: NodeContext): void {
  for (const branch of fan.branches) {
    const ended = progress.childEnded[branch.key];
    if (!ended || progress.ended[branch.key] !== undefined) continue;
    stageBranchEnd(context, fan, branch, childOutcome(ended));
  }
}

function childOutcome(ended: FanOutProgress["childEnded"][string]): BranchOutcome {
  if (ended.status === "completed") return { outcome: "ok", output: ended.answer ?? "" };
  return {
    outcome: "failed",
    error: ended.error ?? { code: ended.status, message: `the child run ended ${ended.status}` },
  };
}

type BranchOutcome =
  | { outcome: "ok"; output: unknown }
  | { outcome: "failed"; error: ErrorInfo }
  | { outcome: "cancelled"; error: ErrorInfo };

/**
 * Stage a branch's end. An agent node's one child is its branch "", whose end carries no `writes`: the node-end
 * writes the answer.
 */
function stageBranchEnd(context: NodeContext, fan: FanOut, branch: Branch, outcome: BranchOutcome): void {
  const writes = branch.writes;
  context.journal.stage({
    type: "branch-end",
    payload: {
      node: fan.node,
      visit: fan.visit,
      branch: branch.key,
      outcome: outcome.outcome,
      ...(outcome.outcome === "ok"
        ? { output: outcome.output, ...(writes === undefined ? {} : { writes }) }
        : { error: outcome.error }),
    },
  });
}

/** Branches whose child is still running past their journaled deadline: the child is cancelled, the branch failed. */
async function settleTimeouts(fan: FanOut, progress: FanOutProgress, context: NodeContext): Promise<void> {
  if (fan.timeoutMs === undefined) return;
  const wait = context.journal.state.workflow.wait;
  // A timer the store fired counts as passed even when this worker's clock is a little behind the database's.
  const firedUntil = wait?.fired && wait.until !== null ? Date.parse(wait.until) : Number.NEGATIVE_INFINITY;
  const now = Math.max(Date.now(), firedUntil);
  let timedOut = 0;
  for (const branch of fan.branches) {
    const started = progress.started[branch.key];
    if (!started?.deadlineAt || progress.ended[branch.key] !== undefined) continue;
    if (Date.parse(started.deadlineAt) > now) continue;
    await context.children?.cancel(
      started.childRunId,
      `branch ${branch.key} of run ${context.journal.state.runId} passed its timeout of ${fan.timeoutMs} ms`,
    );
    stageBranchEnd(context, fan, branch, {
      outcome: "failed",
      error: {
        code: "branch_timeout",
        message: `the branch passed its timeout of ${fan.timeoutMs} ms (child run ${started.childRunId} cancelled)`,
      },
    });
    timedOut += 1;
  }
  // A child was cancelled for its deadline: that the branch timed out is written before anything else happens.
  if (timedOut > 0) await context.journal.commit();
}

/** The join's verdict on the branches settled so far, or `paused` while it cannot tell yet. */
function judge(fan: FanOut, progress: FanOutProgress): Verdict {
  const total = fan.branches.length;
  let ok = 0;
  let firstFailure: { branch: string; error: ErrorInfo } | null = null;
  for (const branch of fan.branches) {
    const ended = progress.ended[branch.key];
    if (ended?.outcome === "ok") ok += 1;
    else if (ended?.outcome === "failed" && firstFailure === null) {
      firstFailure = { branch: branch.key, error: ended.error ?? { code: "failed", message: "failed" } };
    }
  }
  const open = total - progress.settled;
  const failed = (why: string): Verdict =>
    firstFailure
      ? { kind: "failed", ...firstFailure }
      : { kind: "failed", branch: "", error: { code: "join_failed", message: why } };
  switch (fan.join.kind) {
    case "all":
      if (firstFailure) return failed("");
      return ok === total ? { kind: "ok" } : { kind: "paused" };
    case "any":
      if (ok >= 1) return { kind: "ok" };
      return open === 0 ? failed("no branch succeeded") : { kind: "paused" };
    case "quorum":
      if (ok >= fan.join.count) return { kind: "ok" };
      return ok + open < fan.join.count
        ? failed(`${ok} branches succeeded, fewer than the quorum of ${fan.join.count}`)
        : { kind: "paused" };
    case "best-effort":
      return open === 0 ? { kind: "ok" } : { kind: "paused" };
  }
}

/** The join has decided: children still running are cancelled (with their descendants) and their branches too. */
async function cancelRunning(fan: FanOut, progress: FanOutProgress, context: NodeContext): Promise<void> {
  let cancelled = 0;
  for (const branch of fan.branches) {
    const started = progress.started[branch.key];
    if (!started || progress.ended[branch.key] !== undefined) continue;
    await context.children?.cancel(
      started.childRunId,
      `the join of run ${context.journal.state.runId} had decided without branch ${branch.key}`,
    );
    stageBranchEnd(context, fan, branch, {
      outcome: "cancelled",
      error: { code: "cancelled", message: "the join had decided; the branch's child run was cancelled" },
    });
    cancelled += 1;
  }
  // Children were cancelled: their branches' ends are written before the node ends.
  if (cancelled > 0) await context.journal.commit();
}

/**
 * Start one branch. A child run is created (or found again by its idempotency key) and journaled `child-start`; a
 * tool call is made here, through the tool node's governed path, and settled. False when the run must stop here
 * (a call held for a person, an interrupt, the run ended).
 */
async function startBranch(
  fan: FanOut,
  branch: Branch,
  context: NodeContext,
  helpers: FanOutHelpers,
): Promise<boolean> {
  const { journal } = context;
  const scope: WorkflowScope = {
    ...helpers.scope(journal.state),
    ...(branch.item === undefined ? {} : { item: branch.item }),
  };
  const suffix = branch.key === "" ? "" : `.${branch.key}`;
  const id = `${fan.node}.${fan.visit}${suffix}`;
  if (branch.call.kind === "agent") {
    if (!context.children) {
      await helpers.fail(
        context,
        "unsupported_node",
        `node ${fan.node}: this worker cannot start child runs`,
      );
      return false;
    }
    const rendered = renderTemplate(branch.call.input, scope);
    const input = valueText(rendered);
    let child: Awaited<ReturnType<typeof context.children.start>>;
    try {
      child = await context.children.start({
        agent: branch.call.agent,
        input,
        node: fan.node,
        visit: fan.visit,
        idempotencyKey: `${journal.state.runId}:${id}`,
      });
    } catch (error) {
      // A child that cannot be started (an agent not served, bad input) settles its branch as failed.
      const info =
        error !== null && typeof error === "object" && "code" in error && "message" in error
          ? { code: String(error.code), message: String(error.message) }
          : { code: "child_start_failed", message: String(error) };
      stageBranchEnd(context, fan, branch, { outcome: "failed", error: info });
      await journal.commit();
      return true;
    }
    // Staged, to ride on the next commit: lost in a crash, the replay finds the same child by its idempotency key.
    journal.stage({
      type: "child-start",
      payload: {
        node: fan.node,
        visit: fan.visit,
        ...(branch.key === "" ? {} : { branch: branch.key }),
        childRunId: child.run.runId,
        agent: branch.call.agent,
        ...(fan.timeoutMs === undefined
          ? {}
          : { deadlineAt: new Date(Date.now() + fan.timeoutMs).toISOString() }),
      },
    });
    return true;
  }
  // A tool branch: the same exactly-once path as a tool node, under the call id `<node>.<visit>.<branch>`.
  return await runToolWave(fan, [branch], context, helpers);
}

/**
 * Tool branches run as one wave: each proposed (its arguments rendered from the state and its item), the calls
 * decided and started together and run at once (`executeToolCallWave`: every start durable before its tool runs,
 * each call once under the idempotency key `<run>:<node>.<visit>.<branch>`), then every ended branch settled, staged
 * to ride on the run's next commit. False when the run stopped meanwhile (held for a person, interrupted, ended).
 */
async function runToolWave(
  fan: FanOut,
  wave: readonly Branch[],
  context: NodeContext,
  helpers: FanOutHelpers,
): Promise<boolean> {
  const { journal } = context;
  const callIds: string[] = [];
  for (const branch of wave) {
    if (branch.call.kind !== "tool") continue;
    const callId = `${fan.node}.${fan.visit}${branch.key === "" ? "" : `.${branch.key}`}`;
    callIds.push(callId);
    const proposed =
      journal.state.toolCalls.some((each) => each.callId === callId) || endOf(journal.state, callId);
    if (proposed) continue;
    const scope: WorkflowScope = {
      ...helpers.scope(journal.state),
      ...(branch.item === undefined ? {} : { item: branch.item }),
    };
    const args: Record<string, JsonValue> = {};
    for (const [key, value] of Object.entries(branch.call.args)) {
      args[key] = value.kind === "template" ? renderTemplate(value.template, scope) : value.value;
    }
    journal.stage({
      type: "tool-call-propose",
      payload: {
        step: Math.max(1, journal.state.workflow.steps),
        callId,
        tool: branch.call.tool,
        arguments: args,
        argumentsHash: hashPayload(args),
      },
    });
  }
  await executeToolCallWave(context, callIds);
  if (journal.state.status !== "running") return false;
  for (const [index, branch] of wave.entries()) {
    const ended = endOf(journal.state, callIds[index]!);
    if (!ended) return false;
    stageBranchEnd(
      context,
      fan,
      branch,
      ended.isError
        ? { outcome: "failed", error: toolError(ended.content) }
        : { outcome: "ok", output: ended.content },
    );
  }
  // Staged: every call's end is journaled, so a crash before the next commit derives the same branch ends again.
  return true;
}

/** Suspend the run until one of its children ends or the earliest deadline of a running branch passes. */
async function suspendOnChildren(fan: FanOut, progress: FanOutProgress, context: NodeContext): Promise<void> {
  const { journal } = context;
  let earliest: string | undefined;
  for (const branch of fan.branches) {
    const started = progress.started[branch.key];
    if (!started?.deadlineAt || progress.ended[branch.key] !== undefined) continue;
    if (earliest === undefined || Date.parse(started.deadlineAt) < Date.parse(earliest))
      earliest = started.deadlineAt;
  }
  await journal.commit({
    type: "run-suspend",
    payload: {
      reason: `node ${fan.node} waits for a child run to end${earliest ? ` or until ${earliest}` : ""}`,
      wait: {
        children: journal.state.workflow.childEnds,
        ...(earliest === undefined ? {} : { until: earliest }),
      },
    },
  });
}

/** The journaled end of a call, as the run's messages hold it. */
function endOf(state: RunState, callId: string): { content: unknown; isError: boolean } | undefined {
  for (let index = state.messages.length - 1; index >= 0; index--) {
    const message = state.messages[index]!;
    if (message.role === "tool" && message.callId === callId) {
      return { content: message.content, isError: message.isError === true };
    }
  }
  return undefined;
}

function toolError(content: unknown): ErrorInfo {
  if (content !== null && typeof content === "object" && "code" in content && "message" in content) {
    return { code: String(content.code), message: String(content.message) };
  }
  return { code: "tool_failed", message: typeof content === "string" ? content : canonicalJson(content) };
}
