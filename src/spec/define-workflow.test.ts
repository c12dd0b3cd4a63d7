import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type DefineWorkflowInput, defineWorkflow, WorkflowDefinitionError } from "./define-workflow.ts";
import { loadWorkflowSpec } from "./read-workflow-spec.ts";

const FIXTURE = new URL("./__fixtures__/invoice-approval/", import.meta.url).pathname;

/** The invoice approval fixture's workflow.yaml, written in TypeScript. */
const invoiceApproval: DefineWorkflowInput = {
  dir: FIXTURE,
  name: "invoice-approval",
  version: "1.0.0",
  description:
    "Extracts an invoice, matches it to its purchase order, routes it for approval, pays it and confirms.",
  owner: { team: "finance-ops" },
  riskTier: 1,
  state: {
    invoice: { type: "object", schema: "./schemas/invoice.json" },
    match: { type: "object", description: "The purchase order match: { poTotal, mismatch }." },
    checks: { type: "array", reducer: "append" },
    decision: { type: "object" },
    paymentId: { type: "string" },
    confirmation: { type: "object" },
  },
  start: "extract",
  nodes: {
    extract: {
      decide: {
        promptFile: "./prompts/extract.md",
        input: "${input.document}",
        output: "./schemas/invoice.json",
        fallback: "to-person",
      },
      writes: "invoice",
      next: "match",
    },
    match: {
      tool: { name: "find_purchase_order", args: { poNumber: "${state.invoice.poNumber}", strict: true } },
      writes: "match",
      next: "screen",
    },
    screen: {
      parallel: {
        branches: {
          sanctions: { tool: { name: "sanctions_check", args: { vendor: "${state.invoice.vendor}" } } },
          duplicate: {
            tool: { name: "duplicate_invoice_check", args: { invoiceId: "${state.invoice.id}" } },
          },
        },
        join: "all",
        timeout: "30s",
      },
      writes: "checks",
      next: "route",
    },
    route: {
      branch: [
        { when: "state.match.mismatch == true", to: "to-person" },
        { when: "state.invoice.total > 10000", to: "approve" },
        { else: "pay" },
      ],
    },
    approve: {
      approval: {
        routeTo: "finance-leads",
        form: "./forms/approve-invoice.json",
        sla: "8h",
        onDeny: "to-person",
      },
      writes: "decision",
      next: "pay",
    },
    pay: {
      tool: {
        name: "pay_invoice",
        args: { invoiceId: "${state.invoice.id}", amount: "${state.invoice.total}" },
      },
      writes: "paymentId",
      next: "confirmed",
    },
    confirmed: {
      wait: { signal: "payment-confirmed", timeout: "3d", onTimeout: "to-person" },
      writes: "confirmation",
      next: "notify",
    },
    notify: {
      agent: { name: "vendor-notifier", input: "Invoice ${state.invoice.id} paid: ${state.paymentId}" },
      next: "done",
    },
    done: { end: { output: "Paid ${state.invoice.id} as ${state.paymentId}" } },
    "to-person": { handoff: { queue: "finance-ops", reason: "Invoice ${state.invoice.id} needs a person" } },
  },
  model: { provider: "rules", id: "rules" },
  limits: { maxSteps: 40, runTimeout: "7d" },
  budgets: { perRun: { usd: 0.2 } },
  governance: {
    allowedTools: ["find_purchase_order", "sanctions_check", "duplicate_invoice_check", "pay_invoice"],
    decisionAuthority: {
      autonomous: ["find_purchase_order", "sanctions_check", "duplicate_invoice_check"],
      requiresHumanReview: [{ tool: "pay_invoice", when: "input.amount > 50000" }],
    },
  },
};

const HEADER = {
  name: "generated",
  version: "1.0.0",
  description: "A generated graph.",
  owner: { team: "qa" },
};

describe("defineWorkflow", () => {
  test("yields the same definition, version hash included, as the YAML file of the same workflow", async () => {
    const { definition } = await loadWorkflowSpec(join(FIXTURE, "workflow.yaml"));
    assert.deepEqual(defineWorkflow(invoiceApproval), definition);
  });

  test("applies the defaults an interpreter relies on: maxSteps 100, replace, two retries, join all", () => {
    const definition = defineWorkflow({
      ...HEADER,
      riskTier: 3,
      state: { route: { type: "string" }, results: { type: "array" } },
      start: "pick",
      nodes: {
        pick: {
          decide: { prompt: "Pick.", labels: ["a", "b"], fallback: "done" },
          writes: "route",
          next: { a: "fan", b: "done" },
        },
        fan: { map: { over: "state.results", do: { tool: { name: "step" } } }, next: "done" },
        done: { end: {} },
      },
      model: { provider: "rules", id: "rules" },
    });
    assert.deepEqual(definition.limits, { maxSteps: 100 });
    assert.equal(definition.state.route?.reducer, "replace");
    const pick = definition.nodes.pick;
    assert.equal(pick?.kind === "decide" && pick.retries, 2);
    const fan = definition.nodes.fan;
    assert.deepEqual(fan?.kind === "map" && fan.join, { kind: "all" });
  });

  test("throws every issue naming its field path, without a file position", () => {
    const broken: DefineWorkflowInput = {
      ...invoiceApproval,
      nodes: {
        ...invoiceApproval.nodes,
        pay: { tool: { name: "pay_invoice" }, writes: "paymentIdentifier", next: "confirm" },
      },
      limits: { maxSteps: 0 },
    };
    assert.throws(
      () => defineWorkflow(broken),
      (error: unknown) => {
        assert.ok(error instanceof WorkflowDefinitionError);
        assert.deepEqual(error.issues, [{ path: "limits.maxSteps", message: "must be more than 0" }]);
        return true;
      },
    );
    assert.throws(
      () => defineWorkflow({ ...broken, limits: { maxSteps: 40 } }),
      (error: unknown) => {
        assert.ok(error instanceof WorkflowDefinitionError);
        assert.deepEqual(error.issues, [
          {
            path: "nodes.pay.writes",
            message: "writes state.paymentIdentifier, which is not declared in state",
          },
          {
            path: "nodes.pay.next",
            message:
              'no node is named "confirm" (nodes: extract, match, screen, route, approve, pay, confirmed, notify, done, to-person)',
          },
          { path: "nodes.confirmed", message: 'node "confirmed" is never reached from start (extract)' },
          { path: "nodes.notify", message: 'node "notify" is never reached from start (extract)' },
          { path: "nodes.done", message: 'node "done" is never reached from start (extract)' },
        ]);
        assert.match(
          error.message,
          /^invalid workflow invoice-approval \(5 issues\):\n {2}nodes\.pay\.writes: /,
        );
        return true;
      },
    );
  });
});

/** A random workflow graph: nodes n0…nk in a chain, each with forward edges, and back edges only when bounded. */
type Kind = "tool" | "agent" | "parallel" | "map" | "branch" | "decide" | "approval" | "wait";
type Shape = { kind: Kind; extra: number; back: number | null }[];
const KINDS: Kind[] = ["tool", "agent", "parallel", "map", "branch", "decide", "approval", "wait"];

const shapes = fc
  .array(
    fc.record({
      kind: fc.constantFrom(...KINDS),
      extra: fc.nat(),
      back: fc.option(fc.nat(), { nil: null }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((nodes): Shape => nodes);

/**
 * The workflow for a shape. Node i goes on to i+1 (so all are reachable and the last, an end, is reached from
 * all); a node that routes (branch, decide, approval, wait for a signal) also goes forward to a random later node
 * and, when `back` is set, back to an earlier one, in which case limits.maxSteps bounds the cycle.
 */
function workflowOf(shape: Shape, options: { withBackEdges: boolean }): DefineWorkflowInput {
  const count = shape.length + 1;
  const name = (index: number) => `n${index}`;
  const nodes: DefineWorkflowInput["nodes"] = {};
  let hasBackEdge = false;
  shape.forEach((node, index) => {
    const next = name(index + 1);
    const forward = name(index + 1 + (node.extra % (count - index - 1)));
    const other = options.withBackEdges && node.back !== null ? name(node.back % (index + 1)) : forward;
    hasBackEdge ||= other !== forward;
    if (node.kind === "tool") nodes[name(index)] = { tool: { name: "step" }, next };
    if (node.kind === "agent") nodes[name(index)] = { agent: { name: "helper", input: "${input}" }, next };
    if (node.kind === "parallel") {
      const branches = { a: { tool: { name: "step" } }, b: { agent: { name: "helper", input: "go" } } };
      nodes[name(index)] = { parallel: { branches }, next };
    }
    if (node.kind === "map") {
      nodes[name(index)] = {
        map: { over: "state.items", do: { tool: { name: "step", args: { x: "${item}" } } } },
        next,
      };
    }
    if (node.kind === "approval") {
      nodes[name(index)] = {
        approval: { routeTo: "leads", form: { type: "object" }, sla: "1h", onDeny: other },
        next,
      };
    }
    if (node.kind === "wait") {
      nodes[name(index)] = { wait: { signal: "go", timeout: "1d", onTimeout: other }, next };
    }
    if (node.kind === "branch") {
      nodes[name(index)] = { branch: [{ when: "input.n > 1", to: other }, { else: next }] };
    }
    if (node.kind === "decide") {
      nodes[name(index)] = {
        decide: { prompt: "Go on?", labels: ["yes", "no"], fallback: next },
        next: { yes: next, no: other },
      };
    }
  });
  nodes[name(shape.length)] = { end: {} };
  return {
    ...HEADER,
    riskTier: 3,
    state: { items: { type: "array" } },
    start: "n0",
    nodes,
    model: { provider: "rules", id: "rules" },
    ...(hasBackEdge ? { limits: { maxSteps: 50 } } : {}),
  };
}

/** Every edge of a generated workflow as [node, field path below it]. */
function edgesOf(workflow: DefineWorkflowInput): [string, string[]][] {
  return Object.entries(workflow.nodes).flatMap(([node, spec]): [string, string[]][] => {
    if (spec.tool || spec.agent || spec.parallel || spec.map) return [[node, ["next"]]];
    if (spec.approval)
      return [
        [node, ["next"]],
        [node, ["approval", "onDeny"]],
      ];
    if (spec.wait)
      return [
        [node, ["next"]],
        [node, ["wait", "onTimeout"]],
      ];
    if (spec.branch)
      return [
        [node, ["branch", "0", "to"]],
        [node, ["branch", "1", "else"]],
      ];
    if (spec.decide)
      return [
        [node, ["next", "yes"]],
        [node, ["next", "no"]],
        [node, ["decide", "fallback"]],
      ];
    return [];
  });
}

/** The workflow with the edge at `path` of `node` set to `target`. */
function redirect(
  workflow: DefineWorkflowInput,
  node: string,
  path: string[],
  target: string,
): DefineWorkflowInput {
  const copy = structuredClone(workflow);
  let holder = copy.nodes[node] as Record<string, unknown>;
  for (const segment of path.slice(0, -1)) holder = holder[segment] as Record<string, unknown>;
  holder[path.at(-1)!] = target;
  return copy;
}

function issuesOf(workflow: DefineWorkflowInput): { path: string; message: string }[] {
  try {
    defineWorkflow(workflow);
    return [];
  } catch (error) {
    if (!(error instanceof WorkflowDefinitionError)) throw error;
    return [...error.issues];
  }
}

describe("workflow graph validation, property-based", () => {
  test("accepts every generated graph whose nodes are reachable and whose cycles are bounded", () => {
    fc.assert(
      fc.property(shapes, (shape) => {
        assert.deepEqual(issuesOf(workflowOf(shape, { withBackEdges: true })), []);
      }),
      { numRuns: 200 },
    );
  });

  test("rejects any generated graph with one edge pointed at a node that does not exist, at that edge", () => {
    fc.assert(
      fc.property(shapes, fc.nat(), (shape, pick) => {
        const workflow = workflowOf(shape, { withBackEdges: true });
        const edges = edgesOf(workflow);
        const [node, path] = edges[pick % edges.length]!;
        const issues = issuesOf(redirect(workflow, node, path, "ghost"));
        const at = issues.find(
          (issue) => issue.path === ["nodes", node, ...path].join(".").replace(/\.(\d+)\./g, "[$1]."),
        );
        assert.ok(at, JSON.stringify(issues));
        assert.match(at.message, /^no node is named "ghost"/);
      }),
      { numRuns: 200 },
    );
  });

  test("rejects any acyclic generated graph with one edge turned back into a cycle nothing bounds", () => {
    fc.assert(
      fc.property(shapes, fc.nat(), fc.nat(), (shape, pick, target) => {
        const workflow = workflowOf(shape, { withBackEdges: false });
        const edges = edgesOf(workflow);
        const [node, path] = edges[pick % edges.length]!;
        const index = Number(node.slice(1));
        const issues = issuesOf(redirect(workflow, node, path, `n${target % (index + 1)}`));
        assert.ok(
          issues.some((issue) => /^the cycle through .* (is unbounded|has no way out)/.test(issue.message)),
          JSON.stringify(issues),
        );
      }),
      { numRuns: 200 },
    );
  });
});
