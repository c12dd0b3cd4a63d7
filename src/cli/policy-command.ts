import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { KeelError } from "../errors/index.ts";
import type { GovernedAgent } from "../governance/index.ts";
import { generateCedarSchema, runPolicyTests, validateAgentPolicies } from "../governance/index.ts";
import { governedTools, inspectPackageTools } from "../runtime/index.ts";
import { governedWorkflow, memoryToolsOf } from "../server/index.ts";
import {
  loadAgentSpec,
  loadWorkflowSpec,
  parsePolicyTests,
  readSpecKind,
  readTextFile,
  SpecError,
} from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import { importAgentPackages } from "./agent-packages.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/** The memory tools are built here to be inspected, never run: any query they try is refused. */
const NO_DATABASE: SqlClient = {
  query: () => Promise.reject(new Error("these tools were built to be inspected, not run")),
  transaction: () => Promise.reject(new Error("these tools were built to be inspected, not run")),
};

/** Every agent version of a packages module as the governor sees it, without a database. */
export async function loadGovernedAgents(packagesModule: string): Promise<GovernedAgent[]> {
  const agents: GovernedAgent[] = [];
  for (const agentPackage of await importAgentPackages(packagesModule)) {
    // Policy commands build tools to read their schemas and data classes, never to run them.
    const provided = new Map(inspectPackageTools(agentPackage).map((tool) => [tool.name, tool]));
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") {
      agents.push(governedWorkflow((await loadWorkflowSpec(agentPackage.specFile)).definition, provided));
      continue;
    }
    const loaded = await loadAgentSpec(agentPackage.specFile, { providedTools: [...provided.keys()] });
    for (const tool of memoryToolsOf({
      spec: loaded.spec,
      file: loaded.file,
      sql: NO_DATABASE,
      inspect: true,
    })) {
      provided.set(tool.name, tool);
    }
    agents.push({
      name: loaded.spec.name,
      version: loaded.spec.version,
      governance: loaded.spec.governance,
      tools: governedTools(loaded.spec.tools.map((name) => provided.get(name)!)),
      policyFiles: loaded.policies.map((policy) => ({
        path: policy.path,
        text: policy.text,
        mode: policy.mode,
      })),
      ...(loaded.spec.memory?.longTerm ? { memoryDataClasses: loaded.spec.memory.longTerm.dataClasses } : {}),
    });
  }
  return agents;
}

function pick(agents: readonly GovernedAgent[], names: readonly string[]): GovernedAgent[] {
  if (names.length === 0) return [...agents];
  return names.map((name) => {
    const agent = agents.find((candidate) => candidate.name === name);
    if (!agent)
      throw new KeelError(
        "not_found",
        `no agent named "${name}" in the packages (have: ${agents.map((a) => a.name).join(", ")})`,
      );
    return agent;
  });
}

/** `keel policy validate [agent…]`: check every policy against the Cedar schema generated from the tools. */
export async function policyValidateCommand(options: {
  io: CliIo;
  packagesModule: string;
  agents: readonly string[];
}): Promise<number> {
  const { io } = options;
  let failed = 0;
  for (const agent of pick(await loadGovernedAgents(options.packagesModule), options.agents)) {
    const result = validateAgentPolicies(agent);
    const counts = `${result.policies} policies${result.shadowPolicies > 0 ? ` (+${result.shadowPolicies} in shadow)` : ""}`;
    if (result.issues.length === 0) {
      io.out(`✔ ${result.agent}: ${counts} valid against the schema of ${agent.tools.length} tools`);
      continue;
    }
    failed += 1;
    io.err(
      `✖ ${result.agent}: ${result.issues.length} issue${result.issues.length === 1 ? "" : "s"} in ${counts}`,
    );
    for (const issue of result.issues) {
      io.err(`  ${issue.policy} (${issue.source}): ${issue.message}${issue.help ? ` — ${issue.help}` : ""}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

/** `keel policy test <file…>`: run table-driven policy tests; exit 1 when any row fails. */
export async function policyTestCommand(options: {
  io: CliIo;
  packagesModule: string;
  files: readonly string[];
}): Promise<number> {
  const { io } = options;
  const agents = await loadGovernedAgents(options.packagesModule);
  let passed = 0;
  let failed = 0;
  for (const file of options.files) {
    const read = await readTextFile(file);
    if ("problem" in read) throw new KeelError("invalid_request", read.problem);
    const { tests, issues } = parsePolicyTests(file, read.text);
    if (!tests) throw new SpecError(issues);
    const agent = agents.find(
      (candidate) =>
        candidate.name === tests.agent &&
        (tests.version === undefined || candidate.version === tests.version),
    );
    if (!agent)
      throw new KeelError(
        "not_found",
        `${file}: no agent ${tests.agent}${tests.version ? `@${tests.version}` : ""} in the packages`,
      );
    io.out(`${file} (${agent.name}@${agent.version})`);
    for (const result of await runPolicyTests(agent, tests)) {
      if (result.passed) {
        passed += 1;
        io.out(`  ✔ ${result.name}`);
      } else {
        failed += 1;
        io.out(`  ✖ ${result.name}: ${result.failures.join("; ")}`);
      }
    }
  }
  io.out(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** `keel policy schema <agent>`: the Cedar schema generated from the agent's tools, in Cedar's own syntax. */
export async function policySchemaCommand(options: {
  io: CliIo;
  packagesModule: string;
  agent: string;
}): Promise<number> {
  const [agent] = pick(await loadGovernedAgents(options.packagesModule), [options.agent]);
  const text = cedar.schemaToText(generateCedarSchema(agent!.tools));
  if (text.type === "failure")
    throw new KeelError("internal", text.errors.map((error) => error.message).join("; "));
  options.io.out(text.text);
  return 0;
}

/** `keel policy shadow-report <agent>`: what the agent's shadow policies would have changed, from the server. */
export async function policyShadowReportCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  json: boolean;
}): Promise<number> {
  const report = await options.client.call("shadowReport", { params: { name: options.agent } });
  if (options.json) {
    options.io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  options.io.out(
    `${report.agent}: shadow policies would have changed ${report.changed} of ${report.decisions} decisions`,
  );
  for (const row of report.byPolicy) {
    options.io.out(
      `  ${row.policy}: ${row.decisions} (would deny ${row.wouldDeny}, review ${row.wouldReview}, allow ${row.wouldAllow})`,
    );
  }
  return 0;
}

/** `keel policy reload <agent>`: have the server re-read the agent's policies from disk and swap them in. */
export async function policyReloadCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
}): Promise<number> {
  const result = await options.client.call("reloadPolicies", { params: { name: options.agent } });
  options.io.out(
    `reloaded ${result.agent}@${result.version}: ${result.policies} policies (generation ${result.generation})`,
  );
  return 0;
}
