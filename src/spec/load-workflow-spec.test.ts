import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { checkWorkflowToolOutputs } from "./check-workflow-tool-outputs.ts";
import { loadWorkflowSpec, readWorkflowSpec } from "./read-workflow-spec.ts";
import { formatSpecIssue } from "./spec-error.ts";

const FIXTURE = new URL("./__fixtures__/invoice-approval/", import.meta.url).pathname;
const HEADER = [
  "apiVersion: keel/v1",
  "kind: Workflow",
  "name: focused",
  "version: 1.0.0",
  "description: One rule at a time.",
  "owner: { team: qa }",
  "riskTier: 3",
];
const scratch = mkdtempSync(join(tmpdir(), "keel-workflow-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

/** Writes a workflow (the header, then `lines` from line 8) and its files; returns its issues as `file:line:col …`. */
async function issuesOf(lines: string[], files: Record<string, string> = {}): Promise<string[]> {
  const dir = join(scratch, String(counter++));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "workflow.yaml"), [...HEADER, ...lines].join("\n"));
  const outcome = await readWorkflowSpec(join(dir, "workflow.yaml"));
  if (outcome.ok) return [];
  return outcome.issues.map((issue) => formatSpecIssue(issue).replaceAll(`${dir}/`, ""));
}

describe("loading a workflow spec", () => {
  test("loads the invoice approval workflow into a definition an interpreter can walk", async () => {
    const { definition } = await loadWorkflowSpec(join(FIXTURE, "workflow.yaml"));
    assert.equal(definition.start, "extract");
    assert.deepEqual(
      Object.values(definition.nodes).map((node) => `${node.name}:${node.kind}`),
      [
        "extract:decide",
        "match:tool",
        "screen:parallel",
        "route:branch",
        "approve:approval",
        "pay:tool",
        "confirmed:wait",
        "notify:agent",
        "done:end",
        "to-person:handoff",
      ],
    );
    assert.deepEqual(definition.state.checks, { type: "array", reducer: "append" });
    assert.deepEqual(definition.limits, { maxSteps: 40, runTimeoutMs: 7 * 86_400_000 });
    assert.deepEqual(definition.nodes.route, {
      name: "route",
      kind: "branch",
      cases: [
        {
          when: { kind: "compare", root: "state", path: ["match", "mismatch"], op: "==", value: true },
          source: "state.match.mismatch == true",
          to: "to-person",
        },
        {
          when: { kind: "compare", root: "state", path: ["invoice", "total"], op: ">", value: 10000 },
          source: "state.invoice.total > 10000",
          to: "approve",
        },
      ],
      else: "pay",
    });
    const poNumber = { root: "state", path: ["invoice", "poNumber"] };
    assert.deepEqual(definition.nodes.match, {
      name: "match",
      kind: "tool",
      call: {
        kind: "tool",
        tool: "find_purchase_order",
        args: {
          poNumber: {
            kind: "template",
            template: {
              source: "${state.invoice.poNumber}",
              parts: [{ kind: "reference", reference: poNumber }],
            },
          },
          strict: { kind: "literal", value: true },
        },
      },
      writes: "match",
      next: "screen",
    });
    const screen = definition.nodes.screen;
    assert.equal(screen?.kind, "parallel");
    assert.deepEqual(
      screen.kind === "parallel" && screen.branches.map((branch) => [branch.name, branch.writes]),
      [
        ["sanctions", "checks"],
        ["duplicate", "checks"],
      ],
    );
    assert.deepEqual(screen.kind === "parallel" && [screen.join, screen.timeoutMs], [
      { kind: "all" },
      30_000,
    ]);
    assert.deepEqual(definition.nodes.confirmed, {
      name: "confirmed",
      kind: "wait",
      wait: {
        kind: "signal",
        signal: "payment-confirmed",
        timeoutMs: 3 * 86_400_000,
        onTimeout: "to-person",
      },
      writes: "confirmation",
      next: "notify",
    });
    assert.deepEqual(definition.nodes["to-person"], {
      name: "to-person",
      kind: "handoff",
      to: { kind: "queue", name: "finance-ops" },
      reason: {
        source: "Invoice ${state.invoice.id} needs a person",
        parts: [
          { kind: "text", text: "Invoice " },
          { kind: "reference", reference: { root: "state", path: ["invoice", "id"] } },
          { kind: "text", text: " needs a person" },
        ],
      },
    });
    const extract = definition.nodes.extract;
    assert.equal(extract?.kind === "decide" && extract.decision.kind, "schema");
    assert.equal(extract?.kind === "decide" && extract.prompt.source.startsWith("Read the invoice"), true);
    const approve = definition.nodes.approve;
    assert.equal(approve?.kind === "approval" && approve.slaMs, 8 * 3_600_000);
    assert.match(definition.versionHash, /^sha256:[0-9a-f]{64}$/);
  });

  test("rejects an unknown field at its key", async () => {
    assert.deepEqual(await issuesOf(["start: a", "nodes:", "  a:", "    end: {}", "    nxet: b"]), [
      'workflow.yaml:12:5 nodes.a.nxet: unknown field "nxet"',
    ]);
  });

  test("rejects a remote A2A agent whose card host is not in http.allowHosts, at its card", async () => {
    const remote = [
      "start: a",
      "nodes:",
      "  a:",
      "    end: {}",
      "http:",
      "  allowHosts: [api.example.com]",
      "a2a:",
      "  agents:",
      "    - { name: billing, card: https://agents.example.com/card.json }",
    ];
    assert.deepEqual(await issuesOf(remote), [
      "workflow.yaml:16:30 a2a.agents[0].card: host agents.example.com is not in http.allowHosts (api.example.com)",
    ]);
  });

  test("rejects a state field or node name that a reference could not spell, at the name", async () => {
    assert.deepEqual(
      await issuesOf([
        "state: { order-id: { type: string } }",
        "start: a",
        "nodes:",
        "  a:",
        "    end: {}",
        "  9b:",
        "    end: {}",
      ]),
      [
        'workflow.yaml:8:10 state.order-id: invalid name "order-id": expected a state field name: letters, digits and underscores, not starting with a digit',
        'workflow.yaml:13:3 nodes.9b: invalid name "9b": expected letters, digits, dashes and underscores, starting with a letter',
      ],
    );
  });

  test("rejects a node with two kinds, or none", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look }",
        "    agent: { name: helper, input: hi }",
        "    next: b",
        "  b:",
        "    description: nothing",
      ]),
      [
        "workflow.yaml:10:3 nodes.a: a node needs exactly one of agent, tool, decide, branch, parallel, map, approval, wait, handoff, end; it has agent and tool",
        "workflow.yaml:14:3 nodes.b: a node needs exactly one of agent, tool, decide, branch, parallel, map, approval, wait, handoff, end; it has none",
      ],
    );
  });

  test("rejects a node that needs next and has none, or has a mapping where a name belongs, once", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look }",
        "    next: { b: b }",
        "  b:",
        "    tool: { name: look }",
      ]),
      [
        "workflow.yaml:12:11 nodes.a.next: expected the name of a node (only a decide with labels maps them)",
        "workflow.yaml:13:3 nodes.b: a tool node needs next",
      ],
    );
  });

  test("rejects an edge to a node that does not exist, at the edge", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    branch:",
        "      - { when: 'input.priority == \"high\"', to: fast }",
        "      - { else: b }",
        "  b:",
        "    end: {}",
      ]),
      ['workflow.yaml:12:49 nodes.a.branch[0].to: no node is named "fast" (nodes: a, b)'],
    );
  });

  test("rejects a start that names no node", async () => {
    assert.deepEqual(await issuesOf(["start: first", "nodes:", "  a:", "    end: {}"]), [
      'workflow.yaml:8:8 start: no node is named "first" (nodes: a)',
    ]);
  });

  test("rejects a node never reached from start, at its name", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look }",
        "    next: c",
        "  orphan:",
        "    tool: { name: look }",
        "    next: c",
        "  c:",
        "    end: {}",
      ]),
      ['workflow.yaml:13:3 nodes.orphan: node "orphan" is never reached from start (a)'],
    );
  });

  const loop = [
    "start: draft",
    "nodes:",
    "  draft:",
    "    tool: { name: write_draft }",
    "    next: check",
    "  check:",
    "    branch:",
    "      - { when: 'input.ready == true', to: done }",
    "      - { else: draft }",
    "  done:",
    "    end: {}",
  ];

  test("rejects a cycle with no bound, and accepts it bounded by limits.maxSteps or maxVisits", async () => {
    assert.deepEqual(await issuesOf(loop), [
      "workflow.yaml:10:3 nodes.draft: the cycle through draft, check is unbounded: declare limits.maxSteps, or maxVisits on one of its nodes",
    ]);
    assert.deepEqual(await issuesOf([...loop, "limits: { maxSteps: 20 }"]), []);
    const visits = [...loop];
    visits.splice(4, 0, "    maxVisits: 3");
    assert.deepEqual(await issuesOf(visits), []);
  });

  test("rejects a cycle no node can leave, even with a bound", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look }",
        "    next: b",
        "  b:",
        "    tool: { name: look }",
        "    next: a",
        "limits: { maxSteps: 20 }",
      ]),
      [
        "workflow.yaml:10:3 nodes.a: the cycle through a, b has no way out: no decide, branch, approval or wait on it leads elsewhere",
      ],
    );
  });

  test("rejects reads of undeclared state in templates, conditions and map.over", async () => {
    assert.deepEqual(
      await issuesOf([
        "state: { total: { type: number }, results: { type: array } }",
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look, args: { id: 'order ${state.orderId}' } }",
        "    next: b",
        "  b:",
        "    branch:",
        "      - { when: 'state.total > 5 && state.customer.tier == \"gold\"', to: c }",
        "      - { else: c }",
        "  c:",
        "    map: { over: state.lines, do: { tool: { name: price, args: { sku: '${item.sku}' } } } }",
        "    writes: results",
        "    next: d",
        "  d:",
        "    end: { output: '${item.sku}' }",
      ]),
      [
        "workflow.yaml:12:37 nodes.a.tool.args.id: reads state.orderId, which is not declared in state",
        "workflow.yaml:16:17 nodes.b.branch[0].when: reads state.customer.tier, but state.customer is not declared in state",
        "workflow.yaml:19:18 nodes.c.map.over: reads state.lines, which is not declared in state",
        "workflow.yaml:23:20 nodes.d.end.output: reads item.sku, but only the do of a map has an item",
      ],
    );
  });

  test("rejects a read below a field its type or schema says cannot be there", async () => {
    assert.deepEqual(
      await issuesOf([
        "state:",
        "  name: { type: string }",
        "  invoice: { type: object, schema: { type: object, properties: { id: { type: string } }, additionalProperties: false } }",
        "start: a",
        "nodes:",
        "  a:",
        "    end: { output: '${state.name.first} ${state.invoice.total}' }",
      ]),
      [
        "workflow.yaml:14:20 nodes.a.end.output: reads state.name.first, but state.name is a string",
        'workflow.yaml:14:20 nodes.a.end.output: reads state.invoice.total, but the schema of state.invoice declares no field "total"',
      ],
    );
  });

  test("checks input reads against the input schema when it closes the object", async () => {
    assert.deepEqual(
      await issuesOf([
        "input: { type: object, properties: { text: { type: string } }, additionalProperties: false }",
        "start: a",
        "nodes:",
        "  a:",
        "    end: { output: '${input.text} ${input.txet}' }",
      ]),
      [
        'workflow.yaml:12:20 nodes.a.end.output: reads input.txet, but the schema of input declares no field "txet"',
      ],
    );
  });

  test("checks a map item's fields against the list's items schema", async () => {
    assert.deepEqual(
      await issuesOf([
        "state:",
        "  lines: { type: array, schema: { items: { type: object, properties: { sku: { type: string } }, additionalProperties: false } } }",
        "  prices: { type: array }",
        "start: a",
        "nodes:",
        "  a:",
        "    map: { over: state.lines, do: { tool: { name: price, args: { sku: '${item.sku}', qty: '${item.qty}' } } } }",
        "    writes: prices",
        "    next: b",
        "  b:",
        "    end: {}",
      ]),
      [
        'workflow.yaml:14:91 nodes.a.map.do.tool.args.qty: reads item.qty, but the schema of item declares no field "qty"',
      ],
    );
  });

  test("rejects a template or condition that does not parse, naming the column inside it", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    branch:",
        "      - { when: 'state.x >> 1', to: b }",
        "      - { else: b }",
        "  b:",
        "    end: { output: 'total ${state.x' }",
      ]),
      [
        "workflow.yaml:12:17 nodes.a.branch[0].when: invalid condition at column 10: expected a number, 'text', true or false but found \">\"",
        'workflow.yaml:15:20 nodes.b.end.output: invalid template at column 7: a "${" is never closed with "}"',
      ],
    );
  });

  test("rejects writes to undeclared state", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: look }",
        "    writes: result",
        "    next: b",
        "  b:",
        "    end: {}",
      ]),
      ["workflow.yaml:12:13 nodes.a.writes: writes state.result, which is not declared in state"],
    );
  });

  test("rejects a decide whose labels or output schema do not fit the field it writes", async () => {
    const decide = (answer: string, field: string) => [
      `state: { route: { type: ${field} } }`,
      "start: a",
      "nodes:",
      "  a:",
      `    decide: { prompt: Choose., ${answer}, fallback: b }`,
      "    writes: route",
      answer.startsWith("labels") ? "    next: { yes: b, no: b }" : "    next: b",
      "  b:",
      "    end: {}",
      "model: { provider: rules, id: rules }",
    ];
    assert.deepEqual(await issuesOf(decide("labels: [yes, no]", "number")), [
      "workflow.yaml:13:13 nodes.a.writes: a label is a string, but state.route is a number",
    ]);
    assert.deepEqual(await issuesOf(decide("output: { type: array }", "object")), [
      "workflow.yaml:13:13 nodes.a.writes: the decision's output schema is an array, but state.route is an object",
    ]);
    assert.deepEqual(await issuesOf(decide("labels: [yes, no]", "string")), []);
  });

  test("rejects a decide with labels whose next does not map every label", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    decide: { prompt: Route it., labels: [billing, shipping], fallback: b }",
        "    next: { billing: b, it: b }",
        "  b:",
        "    end: {}",
        "model: { provider: rules, id: rules }",
      ]),
      [
        'workflow.yaml:12:11 nodes.a.next: label "shipping" has no next node',
        'workflow.yaml:12:25 nodes.a.next.it: "it" is not one of the labels (billing, shipping)',
      ],
    );
  });

  test("rejects a field written by two parallel branches whose reducer is replace", async () => {
    const parallel = (reducer: string) => [
      `state: { checks: { type: array, reducer: ${reducer} } }`,
      "start: a",
      "nodes:",
      "  a:",
      "    parallel:",
      "      branches:",
      "        sanctions: { tool: { name: sanctions_check } }",
      "        duplicate: { tool: { name: duplicate_check } }",
      "    writes: checks",
      "    next: b",
      "  b:",
      "    end: {}",
    ];
    assert.deepEqual(await issuesOf(parallel("replace")), [
      "workflow.yaml:16:13 nodes.a.writes: state.checks is written by 2 parallel branches (sanctions, duplicate) but its reducer is replace: set reducer to append, merge, sum, max or min",
    ]);
    assert.deepEqual(await issuesOf(parallel("append")), []);
    assert.deepEqual(
      await issuesOf([
        "state: { verdict: { type: string } }",
        "start: a",
        "nodes:",
        "  a:",
        "    parallel:",
        "      branches:",
        "        first: { tool: { name: check_one }, writes: verdict }",
        "        second: { tool: { name: check_two }, writes: verdict }",
        "        third: { tool: { name: check_three }, writes: results }",
        "    next: b",
        "  b:",
        "    end: {}",
      ]),
      [
        "workflow.yaml:15:54 nodes.a.parallel.branches.second.writes: state.verdict is written by 2 parallel branches (first, second) but its reducer is replace: set reducer to append, merge, sum, max or min",
        "workflow.yaml:16:55 nodes.a.parallel.branches.third.writes: writes state.results, which is not declared in state",
      ],
    );
  });

  test("rejects a map that writes its list of outputs to a field that is not an array", async () => {
    assert.deepEqual(
      await issuesOf([
        "state: { lines: { type: array }, priced: { type: object } }",
        "start: a",
        "nodes:",
        "  a:",
        "    map: { over: state.lines, do: { tool: { name: price, args: { sku: '${item.sku}' } } } }",
        "    writes: priced",
        "    next: b",
        "  b:",
        "    end: {}",
      ]),
      [
        "workflow.yaml:13:13 nodes.a.writes: a map's output (the list of its items' outputs) is an array, but state.priced is an object",
      ],
    );
  });

  test("rejects a map item writing a field whose reducer is replace, and a map over a field that is not a list", async () => {
    assert.deepEqual(
      await issuesOf([
        "state: { order: { type: object }, total: { type: number } }",
        "start: a",
        "nodes:",
        "  a:",
        "    map: { over: state.order, do: { tool: { name: price }, writes: total } }",
        "    next: b",
        "  b:",
        "    end: {}",
      ]),
      [
        "workflow.yaml:12:18 nodes.a.map.over: a map goes over a list, but state.order is an object",
        "workflow.yaml:12:68 nodes.a.map.do.writes: every item of the map writes state.total, but its reducer is replace: set reducer to append, merge, sum, max or min",
      ],
    );
  });

  test("rejects a reducer, a schema or a default that does not fit the field's type", async () => {
    assert.deepEqual(
      await issuesOf([
        "state:",
        "  note: { type: string, reducer: append }",
        "  count: { type: integer, default: 'zero' }",
        "  items: { type: array, schema: { type: object } }",
        "  tier: { type: string, schema: { enum: [gold, silver] }, default: bronze }",
        "start: a",
        "nodes:",
        "  a:",
        "    end: {}",
      ]),
      [
        "workflow.yaml:9:34 state.note.reducer: reducer append combines arrays, but state.note is a string",
        "workflow.yaml:10:36 state.count.default: the default is a string, but the field's type is integer",
        "workflow.yaml:11:33 state.items.schema: the schema describes an object, but the field's type is array",
        "workflow.yaml:12:68 state.tier.default: the default does not match the schema: the value must be equal to one of the allowed values",
      ],
    );
  });

  test("rejects a timer that writes, and a handoff that names two targets", async () => {
    assert.deepEqual(
      await issuesOf([
        "state: { when: { type: string } }",
        "start: a",
        "nodes:",
        "  a:",
        "    wait: { for: 3d }",
        "    writes: when",
        "    next: b",
        "  b:",
        "    handoff: { queue: finance-ops, agent: helper }",
      ]),
      [
        "workflow.yaml:13:5 nodes.a.writes: a timer has no output to write",
        "workflow.yaml:16:14 nodes.b.handoff: a handoff names exactly one of queue, person or agent",
      ],
    );
  });

  test("rejects a tool call that governance never allows", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    tool: { name: wire_money }",
        "    next: b",
        "  b:",
        "    end: {}",
        "governance: { allowedTools: [look_up] }",
      ]),
      [
        'workflow.yaml:11:19 nodes.a.tool.name: tool "wire_money" is not in governance.allowedTools, so every call to it is denied',
        `workflow.yaml:15:30 governance.allowedTools[0]: "look_up" is not one of the tools this workflow's nodes call`,
      ],
    );
  });

  test("rejects offline rules that answer with something other than a label, and issues inside the rules file", async () => {
    const workflow = [
      "start: a",
      "nodes:",
      "  a:",
      "    decide: { prompt: Route it., labels: [billing, it], fallback: b, rules: ./route.yaml }",
      "    next: { billing: b, it: b }",
      "  b:",
      "    end: {}",
      "model: { provider: rules, id: rules }",
    ];
    const rules = (answer: string) =>
      ["apiVersion: keel/v1", "kind: RulesTable", "rules:", `  - { name: fallback, ${answer} }`].join("\n");
    assert.deepEqual(await issuesOf(workflow, { "route.yaml": rules("answer: shipping") }), [
      'workflow.yaml:11:77 nodes.a.decide.rules: ./route.yaml: rules[0] (fallback) answers "shipping", which is not one of the labels (billing, it)',
    ]);
    assert.deepEqual(await issuesOf(workflow, { "route.yaml": rules("answer: it, weight: 2") }), [
      'route.yaml:4:35 rules[0].weight: unknown field "weight"',
    ]);
    assert.deepEqual(await issuesOf(workflow, { "route.yaml": rules("answer: it") }), []);
  });

  test("rejects a decide with no model to ask", async () => {
    assert.deepEqual(
      await issuesOf([
        "start: a",
        "nodes:",
        "  a:",
        "    decide: { prompt: Route it., labels: [yes, no], fallback: b }",
        "    next: { yes: b, no: b }",
        "  b:",
        "    end: {}",
      ]),
      [
        "workflow.yaml:11:13 nodes.a.decide: a decide node asks a model: declare the workflow's model (provider, id)",
      ],
    );
  });

  test("names a JSON Schema file that is missing or not a schema", async () => {
    assert.deepEqual(
      await issuesOf(
        [
          "state:",
          "  a: { type: object, schema: ./missing.json }",
          "  b: { type: object, schema: ./bad.json }",
          "start: n",
          "nodes:",
          "  n:",
          "    end: {}",
        ],
        { "bad.json": '{ "type": "objekt" }' },
      ),
      [
        "workflow.yaml:9:30 state.a.schema: JSON Schema file not found: missing.json",
        "workflow.yaml:10:30 state.b.schema: ./bad.json: not a valid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf",
      ],
    );
  });
});

describe("checkWorkflowToolOutputs", () => {
  test("checks what each tool call writes against the tool's output schema once the tools are bound", async () => {
    const { definition } = await loadWorkflowSpec(join(FIXTURE, "workflow.yaml"));
    const tools = {
      find_purchase_order: z.object({ poTotal: z.number(), mismatch: z.boolean() }),
      sanctions_check: z.object({ clear: z.boolean() }),
      duplicate_invoice_check: undefined,
      pay_invoice: z.object({ paymentId: z.string() }),
    };
    assert.deepEqual(checkWorkflowToolOutputs(definition, tools), [
      {
        path: "nodes.pay.writes",
        message: "tool pay_invoice's output is an object, but state.paymentId is a string",
      },
    ]);
    assert.deepEqual(checkWorkflowToolOutputs(definition, { ...tools, pay_invoice: z.string() }), []);
    assert.deepEqual(
      checkWorkflowToolOutputs(definition, { ...tools, sanctions_check: undefined, pay_invoice: z.string() }),
      [],
    );
    const { sanctions_check: _missing, ...withoutSanctions } = tools;
    assert.deepEqual(checkWorkflowToolOutputs(definition, { ...withoutSanctions, pay_invoice: z.string() }), [
      {
        path: "nodes.screen.parallel.branches.sanctions.tool.name",
        message:
          'the package provides no tool "sanctions_check" (it provides: find_purchase_order, duplicate_invoice_check, pay_invoice)',
      },
    ]);
  });
});
