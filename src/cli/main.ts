#!/usr/bin/env node
/**
 * The `keel` command: serve the API, run agents, inspect runs and verify journals.
 * A composition root: the only place besides server/ that reads the environment.
 */
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { parseAllowedOrigins } from "../server/index.ts";
import { agentPackagesModule } from "./agent-packages.ts";
import { AGENTS_USAGE, agentsCli } from "./agents-command.ts";
import { connectApiClient, DEFAULT_URL } from "./api-client.ts";
import { APPROVALS_USAGE, approvalsCli } from "./approvals-command.ts";
import { AUDIT_USAGE, auditCli } from "./audit-command.ts";
import { CHAT_USAGE, chatCli } from "./chat-command.ts";
import { type CliIo, processIo } from "./cli-io.ts";
import { COSTS_USAGE, costsCommand } from "./cost-command.ts";
import { ERASE_USAGE, eraseCli } from "./erase-command.ts";
import { EVAL_USAGE, evalsCli } from "./eval-cli.ts";
import { initCommand } from "./init-command.ts";
import { journalVerifyCommand } from "./journal-command.ts";
import { KB_USAGE, kbCli } from "./kb-command.ts";
import { KEYS_USAGE, keysCli } from "./keys-command.ts";
import { killCommand, killSwitchesCommand, resumeCommand } from "./kill-command.ts";
import { MCP_USAGE, mcpApproveCommand, mcpToolsCommand } from "./mcp-command.ts";
import {
  policyReloadCommand,
  policySchemaCommand,
  policyShadowReportCommand,
  policyTestCommand,
  policyValidateCommand,
} from "./policy-command.ts";
import { reportCliError } from "./report-cli-error.ts";
import { parseRunArguments, runCommand } from "./run-command.ts";
import { runsListCommand, runsShowCommand, runsTreeCommand, signalCommand } from "./runs-command.ts";
import { DEFAULT_GRACE_MS, serveCommand } from "./serve-command.ts";
import { specValidateCommand } from "./spec-command.ts";
import { TRACES_USAGE, tracesCommand } from "./trace-command.ts";
import { workerCommand } from "./worker-command.ts";

export const USAGE = `usage: keel <command> [options]

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
  runs list [--agent A] [--status S] [--limit N] [--json]
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
${KEYS_USAGE}
${KB_USAGE}
${ERASE_USAGE}
${MCP_USAGE}

the agents: the project's keel.config.ts in the working directory, or the module --packages M (or
  KEEL_PACKAGES) names; in a Keel checkout, the bundled examples
options for commands that talk to a server: --url (default $KEEL_URL or ${DEFAULT_URL}),
  --api-key-file F (default $KEEL_API_KEY, or the file in $KEEL_API_KEY_FILE)`;

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
  if (argv[0] === "traces" || argv[0] === "costs") return await telemetryCommand(argv, io);
  if (argv[0] === "eval" || argv[0] === "feedback") return await evalsCli(argv, io);
  if (argv[0] === "approvals") return await approvalsCli(argv, io);
  if (argv[0] === "audit") return await auditCli(argv, io);
  if (argv[0] === "agents") return await agentsCli(argv, io);
  if (argv[0] === "keys") return await keysCli(argv, io);
  if (argv[0] === "kb") return await kbCli(argv, io);
  if (argv[0] === "chat") return await chatCli(argv, io);
  if (argv[0] === "erase") return await eraseCli(argv, io);
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; args: string[] }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`keel: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return command || values.help ? 0 : 2;
  }
  try {
    const client = connectApiClient(io, values);
    switch (command) {
      case "init":
        if (!rest[0] || rest.length > 1) throw usage("keel init <dir>");
        return await initCommand({ io, dir: rest[0] });
      case "serve":
        return await serveCommand({
          io,
          host: values.host ?? io.env.KEEL_HOST ?? "127.0.0.1",
          port: parsePort(values.port ?? io.env.KEEL_PORT ?? "7420"),
          dataDir: values["data-dir"] ?? io.env.KEEL_DATA_DIR ?? ".keel",
          packagesModule: agentPackagesModule(values.packages, io.env),
          allowedOrigins: values["allow-origin"]
            ? parseAllowedOrigins(values["allow-origin"], "--allow-origin")
            : parseAllowedOrigins((io.env.KEEL_ALLOW_ORIGINS ?? "").split(","), "KEEL_ALLOW_ORIGINS"),
          ...leaseTtl(values["lease-ttl"]),
          graceMs: parseGracePeriod(values["grace-period"] ?? io.env.KEEL_GRACE_PERIOD),
        });
      case "worker":
        return await workerCommand({
          io,
          packagesModule: agentPackagesModule(values.packages, io.env),
          concurrency: parseWholeNumber(values.concurrency ?? "16", "--concurrency", 1, 1_000),
          ...leaseTtl(values["lease-ttl"]),
          graceMs: parseGracePeriod(values["grace-period"] ?? io.env.KEEL_GRACE_PERIOD),
        });
      case "run": {
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
      case "runs":
        if (rest[0] === "list") {
          return await runsListCommand({
            client,
            io,
            json: values.json ?? false,
            ...(values.agent === undefined ? {} : { agent: values.agent }),
            ...(values.status === undefined ? {} : { status: values.status }),
            ...(values.limit === undefined ? {} : { limit: values.limit }),
          });
        }
        if (rest[0] === "show" && rest[1])
          return await runsShowCommand({ client, io, runId: rest[1], json: values.json ?? false });
        if (rest[0] === "tree" && rest[1])
          return await runsTreeCommand({ client, io, runId: rest[1], json: values.json ?? false });
        throw usage("keel runs list | keel runs show <run> | keel runs tree <run>");
      case "signal": {
        if (!rest[0] || !rest[1])
          throw usage("keel signal <run> <name> [--payload JSON] [--idempotency-key K]");
        return await signalCommand({
          client,
          io,
          runId: rest[0],
          name: rest[1],
          ...(values.payload === undefined ? {} : { payload: values.payload }),
          ...(values["idempotency-key"] === undefined ? {} : { idempotencyKey: values["idempotency-key"] }),
        });
      }
      case "cancel": {
        if (!rest[0]) throw usage("keel cancel <run>");
        const run = await client.call("cancelRun", { params: { id: rest[0] } });
        io.out(`cancel requested for ${run.id} (status now ${run.status})`);
        return 0;
      }
      case "journal":
        if (rest[0] === "verify" && rest[1])
          return await journalVerifyCommand({ client, io, runIds: rest.slice(1) });
        throw usage("keel journal verify <run…>");
      case "kill":
      case "resume": {
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
      case "kill-switches":
        return await killSwitchesCommand({ client, io, json: values.json ?? false });
      case "mcp":
        if (rest[0] === "tools" && rest[1] && rest.length === 2)
          return await mcpToolsCommand({ client, io, agent: rest[1], json: values.json ?? false });
        if (rest[0] === "approve" && rest[1] && rest[2] && rest.length === 3)
          return await mcpApproveCommand({ client, io, agent: rest[1], tool: rest[2], hash: values.hash });
        throw usage("keel mcp tools <agent> | keel mcp approve <agent> <server>/<tool> --hash H");
      case "policy": {
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
        throw usage(
          "keel policy validate [agent…] | test <tests.yaml…> | schema <agent> | shadow-report <agent> | reload <agent>",
        );
      }
      case "spec":
        if (rest[0] === "validate" && rest.length > 1)
          return await specValidateCommand({
            io,
            files: rest.slice(1),
            packagesModule: agentPackagesModule(values.packages, io.env),
          });
        throw usage("keel spec validate <spec.yaml…>");
      default:
        throw usage(`unknown command "${command}"`);
    }
  } catch (error) {
    return reportCliError(error, io);
  }
}

/** `keel traces …` and `keel costs …` parse their own flags (cli/trace-command.ts, cli/cost-command.ts). */
async function telemetryCommand(argv: readonly string[], io: CliIo): Promise<number> {
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

function usage(message: string): KeelError {
  return new KeelError("invalid_request", `${message}\n\n${USAGE}`);
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
