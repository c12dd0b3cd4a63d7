#!/usr/bin/env node
/**
 * The `keel` command: serve the API, run agents, inspect runs and verify journals.
 * A composition root: the only place besides server/ that reads the environment.
 */
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { agentPackagesModule } from "./agent-packages.ts";
import { connectApiClient, DEFAULT_URL } from "./api-client.ts";
import { type CliIo, processIo } from "./cli-io.ts";
import { DEFAULT_GRACE_MS } from "./grace-period.ts";
import { reportCliError } from "./report-cli-error.ts";

// Each command's module is loaded when that command runs: loading all of them (the server, the stores, the eval
// runner…) would cost every `keel` invocation a second or more of start-up, most of it for code it never calls.
const load = {
  agents: () => import("./agents-command.ts"),
  approvals: () => import("./approvals-command.ts"),
  audit: () => import("./audit-command.ts"),
  autonomy: () => import("./autonomy-command.ts"),
  chat: () => import("./chat-command.ts"),
  costs: () => import("./cost-command.ts"),
  erase: () => import("./erase-command.ts"),
  evals: () => import("./eval-cli.ts"),
  guard: () => import("./guard-command.ts"),
  init: () => import("./init-command.ts"),
  journal: () => import("./journal-command.ts"),
  kb: () => import("./kb-command.ts"),
  keys: () => import("./keys-command.ts"),
  kill: () => import("./kill-command.ts"),
  mcp: () => import("./mcp-command.ts"),
  policy: () => import("./policy-command.ts"),
  rollout: () => import("./rollout-command.ts"),
  run: () => import("./run-command.ts"),
  runs: () => import("./runs-command.ts"),
  serve: () => import("./serve-command.ts"),
  server: () => import("../server/index.ts"),
  spec: () => import("./spec-command.ts"),
  traces: () => import("./trace-command.ts"),
  worker: () => import("./worker-command.ts"),
};

/** The whole usage text: it gathers each command's own, so it loads every command module (help only). */
export async function usageText(): Promise<string> {
  const [agents, approvals, audit, chat, erase, evals, guard, kb, keys, mcp, rollout] = await Promise.all([
    load.agents(),
    load.approvals(),
    load.audit(),
    load.chat(),
    load.erase(),
    load.evals(),
    load.guard(),
    load.kb(),
    load.keys(),
    load.mcp(),
    load.rollout(),
  ]);
  const { AGENTS_USAGE } = agents;
  const { APPROVALS_USAGE } = approvals;
  const { AUDIT_USAGE } = audit;
  const { CHAT_USAGE } = chat;
  const { ERASE_USAGE } = erase;
  const { EVAL_USAGE } = evals;
  const { GUARD_USAGE } = guard;
  const { KB_USAGE } = kb;
  const { KEYS_USAGE } = keys;
  const { MCP_USAGE } = mcp;
  const { ROLLOUT_USAGE } = rollout;
  return `usage: keel <command> [options]

commands:
  init <dir>                       create an agent project in a new (or empty) folder, named after it
  serve [--host 127.0.0.1] [--port 7420] [--data-dir .keel] [--packages M] [--allow-origin O…]
        [--lease-ttl 15] [--grace-period 10]
                                   run the HTTP API and a worker (PGlite, or PostgreSQL with DATABASE_URL)
  worker [--concurrency 16] [--packages M] [--lease-ttl 15] [--grace-period 10]
                                   interpret runs from the PostgreSQL in DATABASE_URL, without HTTP;
                                   --lease-ttl: seconds before a dead process's runs are resumed elsewhere;
                                   on SIGTERM/SIGINT both drain: runs finish their step for up to the
                                   grace period (seconds), then their leases are released
  run <agent> <input…> [--json] [--idempotency-key K]
                                   start a run and stream its steps
${CHAT_USAGE}
  runs list [--agent A] [--status S] [--limit N] [--cursor C] [--json]
                                   the newest runs; --cursor C reads the page after one that printed it
  runs show <run> [--json]
  runs tree <run> [--json]         the run and its child runs, indented under the node that started them
  cancel <run>                     cancel a run and every descendant that has not ended
  signal <run> <name> [--payload JSON] [--idempotency-key K]
                                   deliver a named signal to a run (journaled; wakes a run waiting for it)
  journal verify <run…>            recompute each run's hash chain
  spec validate <spec.yaml…> [--packages M]
                                   check agent and workflow spec files (offline), with file:line:column errors,
                                   and that every tool an agent spec names is one its package provides
  kill <agent> | --tenant T | --all [--reason R]
                                   throw a kill switch: in-flight tool calls are aborted, nothing new runs
  resume <agent> | --tenant T | --all
                                   lift a kill switch
  kill-switches [--json]           the kill switches thrown now
  autonomy <agent> [--json]        per class of held call, how people decided it, and the proposed changes to
                                   governance.decisionAuthority (to autonomous, or back to review) as diffs
  policy validate [agent…]         check every policy against the schema generated from the tools (offline)
  policy test <tests.yaml…>        run table-driven policy tests (offline)
  policy schema <agent>            print the Cedar schema generated from the agent's tools
  policy shadow-report <agent>     what the agent's shadow policies would have changed
  policy reload <agent>            re-read the agent's policies on the server and swap them in
  traces show <run|trace-id>       a run's span tree;  traces search [--path … --agent … --since 24h …]
  costs [top|percentiles|rates]    spend by agent/model/phase/day, top-N runs, p50/p95/p99, rates
${EVAL_USAGE}
${APPROVALS_USAGE}
${AUDIT_USAGE}
${AGENTS_USAGE}
${ROLLOUT_USAGE}
${KEYS_USAGE}
${KB_USAGE}
${ERASE_USAGE}
${MCP_USAGE}
${GUARD_USAGE}

the agents: the project's keel.config.ts in the working directory, or the module --packages M (or
  KEEL_PACKAGES) names; in a Keel checkout, the bundled examples
options for commands that talk to a server: --url (default $KEEL_URL or ${DEFAULT_URL}),
  --api-key-file F (default $KEEL_API_KEY, or the file in $KEEL_API_KEY_FILE)`;
}

const OPTIONS = {
  json: { type: "boolean" },
  url: { type: "string" },
  "api-key-file": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "data-dir": { type: "string" },
  packages: { type: "string" },
  "allow-origin": { type: "string", multiple: true },
  agent: { type: "string" },
  status: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  "idempotency-key": { type: "string" },
  concurrency: { type: "string" },
  "lease-ttl": { type: "string" },
  "grace-period": { type: "string" },
  reason: { type: "string" },
  tenant: { type: "string" },
  payload: { type: "string" },
  hash: { type: "string" },
  all: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Run one `keel` invocation; returns the exit code. Usage errors exit 2, failures 1. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // The test suite's switch (scripts/run-tests.ts): parse every event the interpreter writes against its schema.
  if (io.env.KEEL_CHECK_EVENTS === "1") (await import("../store/index.ts")).checkTypedEvents(true);
  if (argv[0] === "traces" || argv[0] === "costs") return await telemetryCommand(argv, io);
  if (argv[0] === "eval" || argv[0] === "feedback") return await (await load.evals()).evalsCli(argv, io);
  if (argv[0] === "approvals") return await (await load.approvals()).approvalsCli(argv, io);
  if (argv[0] === "audit") return await (await load.audit()).auditCli(argv, io);
  if (argv[0] === "agents") return await (await load.agents()).agentsCli(argv, io);
  if (argv[0] === "rollout") return await (await load.rollout()).rolloutCli(argv, io);
  if (argv[0] === "keys") return await (await load.keys()).keysCli(argv, io);
  if (argv[0] === "kb") return await (await load.kb()).kbCli(argv, io);
  if (argv[0] === "chat") return await (await load.chat()).chatCli(argv, io);
  if (argv[0] === "erase") return await (await load.erase()).eraseCli(argv, io);
  if (argv[0] === "guard") return await (await load.guard()).guardCli(argv, io);
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; args: string[] }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`keel: ${(error as Error).message}\n\n${await usageText()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(await usageText());
    return command || values.help ? 0 : 2;
  }
  try {
    const client = connectApiClient(io, values);
    switch (command) {
      case "init":
        if (!rest[0] || rest.length > 1) throw await usage("keel init <dir>");
        return await (await load.init()).initCommand({ io, dir: rest[0] });
      case "serve":
        return await (await load.serve()).serveCommand({
          io,
          host: values.host ?? io.env.KEEL_HOST ?? "127.0.0.1",
          port: parsePort(values.port ?? io.env.KEEL_PORT ?? "7420"),
          dataDir: values["data-dir"] ?? io.env.KEEL_DATA_DIR ?? ".keel",
          packagesModule: agentPackagesModule(values.packages, io.env),
          allowedOrigins: values["allow-origin"]
            ? (await load.server()).parseAllowedOrigins(values["allow-origin"], "--allow-origin")
            : (await load.server()).parseAllowedOrigins(
                (io.env.KEEL_ALLOW_ORIGINS ?? "").split(","),
                "KEEL_ALLOW_ORIGINS",
              ),
          ...leaseTtl(values["lease-ttl"]),
          graceMs: parseGracePeriod(values["grace-period"] ?? io.env.KEEL_GRACE_PERIOD),
        });
      case "worker":
        return await (await load.worker()).workerCommand({
          io,
          packagesModule: agentPackagesModule(values.packages, io.env),
          concurrency: parseWholeNumber(values.concurrency ?? "16", "--concurrency", 1, 1_000),
          ...leaseTtl(values["lease-ttl"]),
          graceMs: parseGracePeriod(values["grace-period"] ?? io.env.KEEL_GRACE_PERIOD),
        });
      case "run": {
        const { parseRunArguments, runCommand } = await load.run();
        const { agent, input } = parseRunArguments(rest);
        return await runCommand({
          client,
          io,
          agent,
          input,
          json: values.json ?? false,
          ...(values["idempotency-key"] === undefined ? {} : { idempotencyKey: values["idempotency-key"] }),
        });
      }
      case "runs": {
        const { runsListCommand, runsShowCommand, runsTreeCommand } = await load.runs();
        if (rest[0] === "list") {
          return await runsListCommand({
            client,
            io,
            json: values.json ?? false,
            ...(values.agent === undefined ? {} : { agent: values.agent }),
            ...(values.status === undefined ? {} : { status: values.status }),
            ...(values.limit === undefined ? {} : { limit: values.limit }),
            ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
          });
        }
        if (rest[0] === "show" && rest[1])
          return await runsShowCommand({ client, io, runId: rest[1], json: values.json ?? false });
        if (rest[0] === "tree" && rest[1])
          return await runsTreeCommand({ client, io, runId: rest[1], json: values.json ?? false });
        throw await usage("keel runs list | keel runs show <run> | keel runs tree <run>");
      }
      case "signal": {
        if (!rest[0] || !rest[1])
          throw await usage("keel signal <run> <name> [--payload JSON] [--idempotency-key K]");
        return await (await load.runs()).signalCommand({
          client,
          io,
          runId: rest[0],
          name: rest[1],
          ...(values.payload === undefined ? {} : { payload: values.payload }),
          ...(values["idempotency-key"] === undefined ? {} : { idempotencyKey: values["idempotency-key"] }),
        });
      }
      case "cancel": {
        if (!rest[0]) throw await usage("keel cancel <run>");
        const run = await client.call("cancelRun", { params: { id: rest[0] } });
        io.out(`cancel requested for ${run.id} (status now ${run.status})`);
        return 0;
      }
      case "journal":
        if (rest[0] === "verify" && rest[1])
          return await (await load.journal()).journalVerifyCommand({ client, io, runIds: rest.slice(1) });
        throw await usage("keel journal verify <run…>");
      case "kill":
      case "resume": {
        const { killCommand, resumeCommand } = await load.kill();
        const target = {
          ...(rest[0] === undefined ? {} : { agent: rest[0] }),
          ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
          all: values.all ?? false,
        };
        return command === "kill"
          ? await killCommand({
              client,
              io,
              target,
              ...(values.reason === undefined ? {} : { reason: values.reason }),
            })
          : await resumeCommand({ client, io, target });
      }
      case "autonomy":
        if (rest[0] && rest.length === 1)
          return await (await load.autonomy()).autonomyCommand({
            client,
            io,
            agent: rest[0],
            json: values.json ?? false,
          });
        throw await usage("keel autonomy <agent> [--json]");
      case "kill-switches":
        return await (await load.kill()).killSwitchesCommand({ client, io, json: values.json ?? false });
      case "mcp": {
        const { mcpApproveCommand, mcpToolsCommand } = await load.mcp();
        if (rest[0] === "tools" && rest[1] && rest.length === 2)
          return await mcpToolsCommand({ client, io, agent: rest[1], json: values.json ?? false });
        if (rest[0] === "approve" && rest[1] && rest[2] && rest.length === 3)
          return await mcpApproveCommand({ client, io, agent: rest[1], tool: rest[2], hash: values.hash });
        throw await usage("keel mcp tools <agent> | keel mcp approve <agent> <server>/<tool> --hash H");
      }
      case "policy": {
        const {
          policyReloadCommand,
          policySchemaCommand,
          policyShadowReportCommand,
          policyTestCommand,
          policyValidateCommand,
        } = await load.policy();
        const packagesModule = () => agentPackagesModule(values.packages, io.env);
        if (rest[0] === "validate")
          return await policyValidateCommand({ io, packagesModule: packagesModule(), agents: rest.slice(1) });
        if (rest[0] === "test" && rest.length > 1)
          return await policyTestCommand({ io, packagesModule: packagesModule(), files: rest.slice(1) });
        if (rest[0] === "schema" && rest[1])
          return await policySchemaCommand({ io, packagesModule: packagesModule(), agent: rest[1] });
        if (rest[0] === "reload" && rest[1]) return await policyReloadCommand({ client, io, agent: rest[1] });
        if (rest[0] === "shadow-report" && rest[1])
          return await policyShadowReportCommand({ client, io, agent: rest[1], json: values.json ?? false });
        throw await usage(
          "keel policy validate [agent…] | test <tests.yaml…> | schema <agent> | shadow-report <agent> | reload <agent>",
        );
      }
      case "spec":
        if (rest[0] === "validate" && rest.length > 1)
          return await (await load.spec()).specValidateCommand({
            io,
            files: rest.slice(1),
            packagesModule: agentPackagesModule(values.packages, io.env),
          });
        throw await usage("keel spec validate <spec.yaml…>");
      default:
        throw await usage(`unknown command "${command}"`);
    }
  } catch (error) {
    return reportCliError(error, io);
  }
}

/** `keel traces …` and `keel costs …` parse their own flags (cli/trace-command.ts, cli/cost-command.ts). */
async function telemetryCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [{ TRACES_USAGE, tracesCommand }, { COSTS_USAGE, costsCommand }] = await Promise.all([
    load.traces(),
    load.costs(),
  ]);
  const help = argv[0] === "traces" ? TRACES_USAGE : COSTS_USAGE;
  try {
    return argv[0] === "traces"
      ? await tracesCommand(argv.slice(1), io)
      : await costsCommand(argv.slice(1), io);
  } catch (error) {
    if (
      error instanceof TypeError &&
      String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")
    ) {
      io.err(`keel: ${error.message}\n\n${help}`);
      return 2;
    }
    return reportCliError(error, io);
  }
}

async function usage(message: string): Promise<KeelError> {
  return new KeelError("invalid_request", `${message}\n\n${await usageText()}`);
}

function parsePort(text: string): number {
  return parseWholeNumber(text, "--port", 0, 65_535);
}

/** `--lease-ttl <seconds>`, as the lease option of a worker. */
function leaseTtl(text: string | undefined): { leaseTtlMs?: number } {
  return text === undefined ? {} : { leaseTtlMs: parseWholeNumber(text, "--lease-ttl", 1, 3_600) * 1_000 };
}

/** `--grace-period` (or KEEL_GRACE_PERIOD) in whole seconds, as milliseconds; the default when unset. */
function parseGracePeriod(text: string | undefined): number {
  return text === undefined ? DEFAULT_GRACE_MS : parseWholeNumber(text, "--grace-period", 0, 3_600) * 1_000;
}

function parseWholeNumber(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new KeelError(
      "invalid_request",
      `${flag} must be a whole number from ${min} to ${max}, not "${text}"`,
    );
  }
  return value;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), processIo());
}
