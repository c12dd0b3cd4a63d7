import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { loadAgentSpec } from "./load-agent-spec.ts";
import { SpecError, type SpecIssue } from "./spec-error.ts";

const SPEC = `apiVersion: keel/v1
kind: Agent
name: support-triage
version: 1.4.0
description: Tier-1 customer support.
owner: { team: support-ops }
riskTier: 2
prompt: ./prompts/triage.md
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
  offline: ./offline-rules.yaml
tools:
  - search_kb
  - get_order
`;

const RULES = `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: order-status
    when: { input: "order (?<orderId>\\\\d+)", lastTool: none }
    call: { tool: get_order, arguments: { orderId: "{{captures.orderId}}" } }
  - name: fallback
    answer: I can help with orders.
`;

const PROMPT = "You are the tier-1 support agent.\n";

/** Writes an agent directory (spec, prompt and rules, with overrides; null leaves a file out); returns the spec path. */
function writeAgent(files: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-spec-"));
  const all = { "agent.yaml": SPEC, "prompts/triage.md": PROMPT, "offline-rules.yaml": RULES, ...files };
  for (const [name, text] of Object.entries(all)) {
    if (text === null) continue;
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return join(dir, "agent.yaml");
}

/** The spec with one line replaced (1-based), so each defect sits on a known line. */
function specWithLine(line: number, text: string, spec = SPEC): string {
  const lines = spec.split("\n");
  lines[line - 1] = text;
  return lines.join("\n");
}

async function issuesOf(file: string): Promise<SpecIssue[]> {
  try {
    await loadAgentSpec(file);
  } catch (error) {
    assert.ok(error instanceof SpecError, `expected a SpecError, got ${String(error)}`);
    return [...error.issues];
  }
  return assert.fail("expected the spec to be rejected");
}

type Expected = { name: string; line: number; column: number; path: string; message: string | RegExp };

/** Asserts the exact file (by name beside the spec), line, column and path of every issue, in order. */
function assertIssues(spec: string, actual: SpecIssue[], expected: Expected[]): void {
  const where = (issue: { file: string; line: number; column: number; path: string }) =>
    `${issue.file}:${issue.line}:${issue.column} ${issue.path}`;
  assert.deepEqual(
    actual.map(where),
    expected.map((want) => where({ ...want, file: join(dirname(spec), want.name) })),
    JSON.stringify(actual, null, 2),
  );
  for (const [index, want] of expected.entries()) {
    if (typeof want.message === "string") assert.equal(actual[index]!.message, want.message);
    else assert.match(actual[index]!.message, want.message);
  }
}

describe("loadAgentSpec", () => {
  test("loads a valid spec with its prompt, rules table and defaults applied", async () => {
    const file = writeAgent();
    const loaded = await loadAgentSpec(file);
    assert.equal(loaded.file, file);
    assert.equal(loaded.dir, dirname(file));
    assert.equal(loaded.spec.name, "support-triage");
    assert.equal(loaded.spec.version, "1.4.0");
    assert.equal(loaded.spec.prompt, "./prompts/triage.md");
    assert.deepEqual(loaded.spec.model, {
      provider: "anthropic",
      id: "claude-sonnet-4-5-20250929",
      params: {},
      fallbacks: [],
      routing: [],
      cache: { prompt: true },
      offline: "./offline-rules.yaml",
    });
    assert.deepEqual(loaded.spec.tools, ["search_kb", "get_order"]);
    assert.deepEqual(loaded.spec.limits, { maxSteps: 12, runTimeout: 120_000, toolTimeout: 15_000 });
    assert.equal(loaded.prompt, PROMPT);
    assert.equal(loaded.rules?.rules.length, 2);
    assert.deepEqual(loaded.rules?.rules[0]?.when, { input: "order (?<orderId>\\d+)", lastTool: "none" });
    assert.deepEqual(loaded.rules?.rules[1]?.when, {});
    assert.match(loaded.versionHash, /^sha256:[0-9a-f]{64}$/);
  });

  test("parses durations written with units or as milliseconds", async () => {
    const file = writeAgent({
      "agent.yaml": `${SPEC}limits: { maxSteps: 4, runTimeout: 2m, toolTimeout: 500 }\n`,
    });
    const loaded = await loadAgentSpec(file);
    assert.deepEqual(loaded.spec.limits, { maxSteps: 4, runTimeout: 120_000, toolTimeout: 500 });
  });

  test("loads a spec without an offline rules table as rules: null", async () => {
    const file = writeAgent({ "agent.yaml": specWithLine(12, ""), "offline-rules.yaml": null });
    const loaded = await loadAgentSpec(file);
    assert.equal(loaded.rules, null);
    assert.equal(loaded.spec.model.offline, undefined);
  });

  test("reports a YAML syntax error at its line and column", async () => {
    const file = writeAgent({ "agent.yaml": specWithLine(5, "description: support: tier 1") });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 5,
        column: 14,
        path: "",
        message: "Nested mappings are not allowed in compact mappings",
      },
    ]);
  });

  test("reports an unclosed flow mapping where the parser finds it unclosed", async () => {
    const file = writeAgent({ "agent.yaml": specWithLine(6, "owner: { team: support-ops") });
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 7, column: 1, path: "", message: /^Flow map .* must .* end with a }$/ },
    ]);
  });

  test("reports a key given twice as a YAML error at the second key", async () => {
    const file = writeAgent({ "agent.yaml": `${SPEC}name: other\n` });
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 16, column: 1, path: "", message: /unique/ },
    ]);
  });

  test("reports a value of the wrong type at the value, with its field path", async () => {
    const spec = specWithLine(11, "  id: claude-sonnet-4-5-20250929\n  params: { temperature: hot }");
    const file = writeAgent({ "agent.yaml": specWithLine(15, "  - 3", spec) });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 12,
        column: 26,
        path: "model.params.temperature",
        message: 'expected a number, got the string "hot"',
      },
      { name: "agent.yaml", line: 15, column: 5, path: "tools[0]", message: "expected a string, got 3" },
    ]);
  });

  test("loads a context policy with its defaults and reports a bad one at its line, naming the field", async () => {
    const withPolicy = `${SPEC}context: { maxTokens: 64000, strategy: summarize }\n`;
    const loaded = await loadAgentSpec(writeAgent({ "agent.yaml": withPolicy }));
    assert.deepEqual(loaded.spec.context, { maxTokens: 64_000, strategy: "summarize", keepLastTurns: 4 });
    assert.deepEqual((await loadAgentSpec(writeAgent())).spec.context, {
      strategy: "drop-oldest",
      keepLastTurns: 4,
    });
    const file = writeAgent({
      "agent.yaml": `${SPEC}context:\n  strategy: forget-everything\n  keepLastTurns: -1\n`,
    });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 17,
        column: 13,
        path: "context.strategy",
        message: /drop-oldest.*summarize/,
      },
      { name: "agent.yaml", line: 18, column: 18, path: "context.keepLastTurns", message: /0|>=/ },
    ]);
  });

  test("asks a working memory section and the update_working_memory tool to come together, at their lines", async () => {
    const memory = "workingMemory:\n  schema: { type: object, properties: { name: { type: string } } }\n";
    const withBoth = `${SPEC.replace("  - get_order\n", "  - get_order\n  - update_working_memory\n")}${memory}`;
    const loaded = await loadAgentSpec(writeAgent({ "agent.yaml": withBoth }));
    assert.deepEqual(loaded.spec.workingMemory?.schema, {
      type: "object",
      properties: { name: { type: "string" } },
    });
    const sectionOnly = writeAgent({ "agent.yaml": `${SPEC}${memory}` });
    assertIssues(sectionOnly, await issuesOf(sectionOnly), [
      {
        name: "agent.yaml",
        line: 17,
        column: 3,
        path: "workingMemory",
        message: /list update_working_memory in tools/,
      },
    ]);
    const toolOnly = writeAgent({
      "agent.yaml": SPEC.replace("  - get_order\n", "  - get_order\n  - update_working_memory\n"),
    });
    assertIssues(toolOnly, await issuesOf(toolOnly), [
      { name: "agent.yaml", line: 16, column: 5, path: "tools[2]", message: /needs a workingMemory section/ },
    ]);
  });

  test("reports a list given as a scalar at the value", async () => {
    const spec = specWithLine(13, "tools: search_kb").replace("  - search_kb\n  - get_order\n", "");
    const file = writeAgent({ "agent.yaml": spec });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 13,
        column: 8,
        path: "tools",
        message: 'expected a list, got the string "search_kb"',
      },
    ]);
  });

  test("reports a missing field at the mapping that should hold it", async () => {
    const spec = specWithLine(5, "# no description").replace(
      "owner: { team: support-ops }",
      "owner: { person: dana }",
    );
    const file = writeAgent({ "agent.yaml": spec });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 1,
        column: 1,
        path: "description",
        message: "required field is missing (expected a string)",
      },
      { name: "agent.yaml", line: 6, column: 8, path: "owner.team", message: /required field is missing/ },
    ]);
  });

  test("reports an unknown field at its key", async () => {
    const spec = specWithLine(11, "  id: claude-sonnet-4-5-20250929\n  temprature: 0.2");
    const file = writeAgent({ "agent.yaml": `${spec}colour: blue\n` });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 12,
        column: 3,
        path: "model.temprature",
        message: 'unknown field "temprature"',
      },
      { name: "agent.yaml", line: 17, column: 1, path: "colour", message: 'unknown field "colour"' },
    ]);
  });

  test("reports a value outside an enum or literal at the value", async () => {
    const spec = specWithLine(2, "kind: Agnet").replace("riskTier: 2", "riskTier: 5");
    const file = writeAgent({ "agent.yaml": spec });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 2,
        column: 7,
        path: "kind",
        message: 'expected "Agent", got the string "Agnet"',
      },
      { name: "agent.yaml", line: 7, column: 11, path: "riskTier", message: /^expected 1 .*, 2 or 3$/ },
    ]);
  });

  test("reports a malformed duration at the value", async () => {
    const file = writeAgent({
      "agent.yaml": `${SPEC}limits:\n  runTimeout: 15 seconds\n  toolTimeout: true\n`,
    });
    const message = /^expected a duration such as 500ms, 15s/;
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 17, column: 15, path: "limits.runTimeout", message },
      { name: "agent.yaml", line: 18, column: 16, path: "limits.toolTimeout", message },
    ]);
  });

  test("reports a missing prompt file at the prompt field", async () => {
    const file = writeAgent({ "prompts/triage.md": null });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 8,
        column: 9,
        path: "prompt",
        message: /^prompt file not found: .*triage\.md$/,
      },
    ]);
  });

  test("reports an empty prompt file at the prompt field", async () => {
    const file = writeAgent({ "prompts/triage.md": "  \n" });
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 8, column: 9, path: "prompt", message: /^prompt file is empty/ },
    ]);
  });

  test("reports a missing rules table at the model.offline field", async () => {
    const file = writeAgent({ "offline-rules.yaml": null });
    assertIssues(file, await issuesOf(file), [
      {
        name: "agent.yaml",
        line: 12,
        column: 12,
        path: "model.offline",
        message: /^rules table file not found/,
      },
    ]);
  });

  test("reports an input pattern that is not a valid regular expression at its line in the rules file", async () => {
    const rules = RULES.replace('input: "order (?<orderId>\\\\d+)"', 'input: "order (unclosed"').concat(
      "  - name: strict\n    when: { input: { pattern: '[', flags: u } }\n    answer: x\n",
    );
    const file = writeAgent({ "offline-rules.yaml": rules });
    assertIssues(file, await issuesOf(file), [
      {
        name: "offline-rules.yaml",
        line: 5,
        column: 20,
        path: "rules[0].when.input",
        message: "not a valid JavaScript regular expression: Unterminated group",
      },
      {
        name: "offline-rules.yaml",
        line: 10,
        column: 31,
        path: "rules[2].when.input.pattern",
        message: /^not a valid JavaScript regular expression/,
      },
    ]);
  });

  test("reports a rule calling a tool the agent does not list at the tool's line in the rules file", async () => {
    const file = writeAgent({ "agent.yaml": SPEC.replace("  - get_order\n", "") });
    assertIssues(file, await issuesOf(file), [
      {
        name: "offline-rules.yaml",
        line: 6,
        column: 19,
        path: "rules[0].call.tool",
        message: `tool "get_order" is not in the agent's tools (search_kb)`,
      },
    ]);
  });

  test("reports schema issues in the rules file with the rules file's own lines", async () => {
    const file = writeAgent({ "offline-rules.yaml": `${RULES}    call: { tool: search_kb }\n` });
    assertIssues(file, await issuesOf(file), [
      {
        name: "offline-rules.yaml",
        line: 7,
        column: 5,
        path: "rules[1]",
        message: /exactly one of `call` or `answer`/,
      },
    ]);
  });

  test("collects the issues of the spec and its rules file together, spec first", async () => {
    const file = writeAgent({
      "agent.yaml": SPEC.replace("riskTier: 2", "riskTier: high"),
      "offline-rules.yaml": RULES.replace("kind: RulesTable", "kind: Rules"),
    });
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 7, column: 11, path: "riskTier", message: /^expected 1/ },
      { name: "offline-rules.yaml", line: 2, column: 7, path: "kind", message: /expected "RulesTable"/ },
    ]);
  });

  test("rejects an empty file and a file that is not a mapping", async () => {
    const empty = writeAgent({ "agent.yaml": "# nothing here\n" });
    assertIssues(empty, await issuesOf(empty), [
      { name: "agent.yaml", line: 1, column: 1, path: "", message: "expected a mapping, got null" },
    ]);
    const list = writeAgent({ "agent.yaml": "- a\n- b\n" });
    assertIssues(list, await issuesOf(list), [
      { name: "agent.yaml", line: 1, column: 1, path: "", message: "expected a mapping, got a list" },
    ]);
  });

  test("rejects a missing spec file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "keel-spec-")), "agent.yaml");
    assertIssues(file, await issuesOf(file), [
      { name: "agent.yaml", line: 1, column: 1, path: "", message: /^file not found/ },
    ]);
  });

  test("formats each issue as file:line:column path: message in the error message", async () => {
    const file = writeAgent({
      "agent.yaml": SPEC.replace("riskTier: 2", "riskTier: 5").concat("colour: blue\n"),
    });
    const error = await loadAgentSpec(file).catch((caught: unknown) => caught);
    assert.ok(error instanceof SpecError);
    const lines = error.message.split("\n");
    assert.equal(lines[0], "invalid spec (2 issues):");
    assert.match(lines[1]!, /^ {2}\/.*\/agent\.yaml:7:11 riskTier: expected 1 /);
    assert.equal(lines[2], `  ${file}:16:1 colour: unknown field "colour"`);
  });
});

describe("versionHash", () => {
  const REFORMATTED = `# The same agent, written differently.
kind: Agent
apiVersion: "keel/v1"
tools: [search_kb, get_order]
model: { offline: ./offline-rules.yaml, id: claude-sonnet-4-5-20250929, provider: anthropic }
owner:
  team: support-ops
name:    support-triage
description: "Tier-1 customer support."
version: '1.4.0'
prompt: ./prompts/triage.md
riskTier: 2   # high-ish
`;

  test("is stable under key order, comments, quoting and whitespace", async () => {
    const first = await loadAgentSpec(writeAgent());
    const second = await loadAgentSpec(writeAgent({ "agent.yaml": REFORMATTED }));
    assert.equal(second.versionHash, first.versionHash);
  });

  test("is stable when the prompt is checked out with CRLF line endings", async () => {
    const first = await loadAgentSpec(writeAgent());
    const second = await loadAgentSpec(writeAgent({ "prompts/triage.md": PROMPT.replaceAll("\n", "\r\n") }));
    assert.equal(second.versionHash, first.versionHash);
  });

  test("changes when the prompt text changes", async () => {
    const first = await loadAgentSpec(writeAgent());
    const second = await loadAgentSpec(writeAgent({ "prompts/triage.md": `${PROMPT}Be brief.\n` }));
    assert.notEqual(second.versionHash, first.versionHash);
  });

  test("changes when the rules table changes", async () => {
    const first = await loadAgentSpec(writeAgent());
    const second = await loadAgentSpec(
      writeAgent({ "offline-rules.yaml": RULES.replace("I can help with orders.", "Ask me about orders.") }),
    );
    assert.notEqual(second.versionHash, first.versionHash);
  });

  test("changes when a field of the spec changes", async () => {
    const first = await loadAgentSpec(writeAgent());
    const second = await loadAgentSpec(writeAgent({ "agent.yaml": SPEC.replace("1.4.0", "1.4.1") }));
    assert.notEqual(second.versionHash, first.versionHash);
  });
});

describe("an agent spec's output schema", () => {
  const SCHEMA =
    '{ "type": "object", "properties": { "severity": { "enum": ["low", "high"] } }, "required": ["severity"] }\n';

  test("loads an inline schema and one kept in a file beside the spec, with maxRetries defaulting to 2", async () => {
    const inline = await loadAgentSpec(
      writeAgent({ "agent.yaml": `${SPEC}output:\n  schema: { type: object, required: [severity] }\n` }),
    );
    assert.deepEqual(inline.outputSchema, { type: "object", required: ["severity"] });
    assert.equal(inline.spec.output?.maxRetries, 2);
    const filed = await loadAgentSpec(
      writeAgent({
        "agent.yaml": `${SPEC}output:\n  schema: ./triage.schema.json\n  maxRetries: 1\n`,
        "triage.schema.json": SCHEMA,
      }),
    );
    assert.deepEqual(filed.outputSchema?.required, ["severity"]);
    assert.equal(filed.spec.output?.maxRetries, 1);
    const none = await loadAgentSpec(writeAgent());
    assert.equal(none.outputSchema, null);
  });

  test("changes the version hash when the schema file changes", async () => {
    const spec = `${SPEC}output:\n  schema: ./triage.schema.json\n`;
    const first = await loadAgentSpec(writeAgent({ "agent.yaml": spec, "triage.schema.json": SCHEMA }));
    const second = await loadAgentSpec(
      writeAgent({ "agent.yaml": spec, "triage.schema.json": SCHEMA.replace('"high"', '"urgent"') }),
    );
    assert.notEqual(second.versionHash, first.versionHash);
  });

  test("reports a missing schema file, a file that is not JSON and a schema that does not compile at output.schema", async () => {
    const spec = `${SPEC}output:\n  schema: ./triage.schema.json\n`;
    const missing = writeAgent({ "agent.yaml": spec });
    assertIssues(missing, await issuesOf(missing), [
      {
        name: "agent.yaml",
        line: 17,
        column: 11,
        path: "output.schema",
        message: /^JSON Schema file not found: .*triage\.schema\.json$/,
      },
    ]);
    const broken = writeAgent({ "agent.yaml": spec, "triage.schema.json": '{ "type": "object", ' });
    assertIssues(broken, await issuesOf(broken), [
      {
        name: "agent.yaml",
        line: 17,
        column: 11,
        path: "output.schema",
        message: /^\.\/triage\.schema\.json: not valid JSON or YAML/,
      },
    ]);
    const invalid = writeAgent({ "agent.yaml": `${SPEC}output:\n  schema: { type: objekt }\n` });
    assertIssues(invalid, await issuesOf(invalid), [
      {
        name: "agent.yaml",
        line: 17,
        column: 11,
        path: "output.schema",
        message: /^not a valid JSON Schema: .*type/,
      },
    ]);
  });

  test("reports a maxRetries out of range and an unknown key in output at their lines", async () => {
    const file = writeAgent({
      "agent.yaml": `${SPEC}output:\n  schema: { type: object }\n  maxRetries: 11\n  retries: 2\n`,
    });
    const issues = await issuesOf(file);
    assert.deepEqual(
      issues.map((issue) => `${issue.line} ${issue.path}`),
      ["18 output.maxRetries", "19 output.retries"],
      JSON.stringify(issues),
    );
  });
});

describe("loadAgentSpec with HTTP tools", () => {
  const HTTP = `http:
  allowHosts: [api.example.com, "*.internal.example.com"]
  tools:
    - name: lookup_order
      description: Look an order up.
      url: https://api.example.com/orders/{id}
      headers: { authorization: { fromEnv: ORDERS_TOKEN, prefix: "Bearer " } }
      input: { type: object, properties: { id: { type: string } } }
  openapi:
    - document: ./orders.yaml
      baseUrl: https://api.example.com
      operations: [{ operationId: createTicket }]
`;
  const withHttp = (http: string) =>
    writeAgent({
      "agent.yaml": `${SPEC.replace("  - get_order\n", "  - get_order\n  - lookup_order\n  - createTicket\n")}${http}`,
    });

  test("a valid section loads with its defaults (private networks refused, 1 MiB, 30 s, GET) and its tools count as provided", async () => {
    const { spec } = await loadAgentSpec(withHttp(HTTP), { providedTools: ["search_kb", "get_order"] });
    assert.equal(spec.http?.allowPrivateNetworks, false);
    assert.equal(spec.http?.maxResponseBytes, 1024 * 1024);
    assert.equal(spec.http?.timeout, 30_000);
    assert.equal(spec.http?.tools[0]?.method, "GET");
  });

  test("a query argument the input does not declare is reported at its line", async () => {
    const file = withHttp(HTTP.replace("      headers:", "      query: [verbose]\n      headers:"));
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.line, issue.path, issue.message]),
      [[24, "http.tools[0].query[0]", "verbose is not a property of input"]],
    );
  });

  test("an operation named like another HTTP tool is reported at its line", async () => {
    const file = withHttp(
      HTTP.replace("{ operationId: createTicket }", "{ operationId: createTicket, as: lookup_order }"),
    );
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.line, issue.path, issue.message]),
      [[29, "http.openapi[0].operations[0].as", "its name lookup_order is also http.tools[0]'s; rename one"]],
    );
  });
});

describe("loadAgentSpec with remote A2A agents", () => {
  const A2A = `http:
  allowHosts: [agents.example.com]
a2a:
  agents:
    - name: billing
      card: https://agents.example.com/a2a/billing/.well-known/agent-card.json
      headers: { authorization: { fromEnv: BILLING_KEY, prefix: "Bearer " } }
`;
  const withA2a = (section: string) =>
    writeAgent({
      "agent.yaml": `${SPEC.replace("  - get_order\n", "  - get_order\n  - billing\n")}${section}`,
    });

  test("a valid section loads with its defaults (side-effecting, sends data outside, 60 s, 1 MiB) and its tool counts as provided", async () => {
    const { spec } = await loadAgentSpec(withA2a(A2A), { providedTools: ["search_kb", "get_order"] });
    const billing = spec.a2a?.agents[0];
    assert.equal(billing?.sideEffect, true);
    assert.equal(billing?.sendsDataOutside, true);
    assert.equal(billing?.timeout, 60_000);
    assert.equal(billing?.maxResultBytes, 1024 * 1024);
  });

  test("a card whose host is not in http.allowHosts is reported at the card's line", async () => {
    const file = withA2a(A2A.replace("allowHosts: [agents.example.com]", "allowHosts: [api.example.com]"));
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.line, issue.path, issue.message]),
      [[22, "a2a.agents[0].card", "host agents.example.com is not in http.allowHosts (api.example.com)"]],
    );
  });

  test("a remote agent without an http section is told to add the egress allowlist", async () => {
    const file = withA2a(A2A.replace("http:\n  allowHosts: [agents.example.com]\n", ""));
    const [issue] = await issuesOf(file);
    assert.equal(issue?.path, "a2a.agents[0].card");
    assert.match(String(issue?.message), /add an http section whose allowHosts names agents\.example\.com/);
  });

  test("a bad name, pin and timeout are each reported at their field", async () => {
    const file = withA2a(`a2a:
  agents:
    - name: Billing Desk
      card: https://agents.example.com/card.json
      pin: md5:abc
      timeout: soon
`);
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => issue.path),
      ["a2a.agents[0].name", "a2a.agents[0].pin", "a2a.agents[0].timeout"],
    );
  });

  test("a remote agent's tool named like an HTTP tool is reported at its name", async () => {
    const file = withA2a(`http:
  allowHosts: [agents.example.com]
  tools:
    - name: billing
      description: Billing.
      url: https://agents.example.com/billing
a2a:
  agents:
    - name: billing
      card: https://agents.example.com/card.json
`);
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.path, issue.message]),
      [["a2a.agents[0].name", "its name billing is also http.tools[0]'s; rename one with as"]],
    );
  });
});

describe("loadAgentSpec with code tools", () => {
  const CODE = `code:
  tools:
    - name: run_python
      description: Run a Python program.
      language: python
`;
  const withCode = (code: string) =>
    writeAgent({
      "agent.yaml": `${SPEC.replace("  - get_order\n", "  - get_order\n  - run_python\n")}${code}`,
    });

  test("a valid section loads with its defaults (sandbox required, 5s, 2s, 256MiB, 32, 64KiB, 16MiB) and its tools count as provided", async () => {
    const { spec } = await loadAgentSpec(withCode(CODE), { providedTools: ["search_kb", "get_order"] });
    assert.equal(spec.code?.sandbox, "required");
    assert.deepEqual(spec.code?.tools[0], {
      name: "run_python",
      description: "Run a Python program.",
      language: "python",
      timeout: 5_000,
      cpuTime: 2_000,
      memory: 256 * 1024 ** 2,
      processes: 32,
      maxOutputBytes: 64 * 1024,
      tmpSize: 16 * 1024 ** 2,
      prestarted: 1,
    });
  });

  test("limits written as sizes and durations are parsed, and one too small for Node.js is reported at its line", async () => {
    const file = withCode(
      CODE.replace(
        "language: python",
        "language: javascript\n      memory: 32MiB\n      maxOutputBytes: 1KiB",
      ),
    );
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.line, issue.path, issue.message]),
      [
        [
          22,
          "code.tools[0].memory",
          "javascript needs at least 64MiB (Node.js holds about 40MiB before any code runs)",
        ],
      ],
    );
  });

  test("a code tool named like an HTTP tool is reported at its line", async () => {
    const file = withCode(
      `http:\n  allowHosts: [api.example.com]\n  tools:\n    - name: run_python\n      description: Clash.\n      url: https://api.example.com/run\n${CODE}`,
    );
    assert.deepEqual(
      (await issuesOf(file)).map((issue) => [issue.line, issue.path, issue.message]),
      [[25, "code.tools[0].name", "its name run_python is also http.tools[0]'s; rename one"]],
    );
  });
});
