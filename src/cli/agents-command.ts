import { parseArgs } from "node:util";
import type { Answer } from "../client/index.ts";
import { type ApiClient, connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel agents`, for `keel --help` and usage errors. */
export const AGENTS_USAGE = `  agents list [--json]             agents served, their models, lifecycle status and flags
  agents show <agent> [--json]     versions, owner, tier, scope, gates, reviews and history from the registry
  agents card <agent> [--version V]
                                   the one-page registry card (the A2A Agent Card is at /a2a/<agent>/…)
  agents attest <agent> <version> <gate> --evidence URL [--score N --threshold N] [--monthly-usd N --approved]
                                   (eval_results without --score: from the store's latest keel eval --gate)
  agents status <agent> <version> draft|in_review|active|paused|retired [--reason R]
  agents review <agent> <version> --evidence URL
  agents incident <agent> --description TEXT
                                   changes name you with --as S (or KEEL_SUBJECT) until authentication is configured`;

const OPTIONS = {
  url: { type: "string" },
  "api-key-file": { type: "string" },
  json: { type: "boolean" },
  version: { type: "string" },
  evidence: { type: "string" },
  score: { type: "string" },
  threshold: { type: "string" },
  "monthly-usd": { type: "string" },
  approved: { type: "boolean" },
  reason: { type: "string" },
  description: { type: "string" },
  as: { type: "string" },
} as const;

type Served = Answer<"listAgents">["agents"][number];
type Entry = Answer<"registry">["agents"][number];

/** `keel agents …`: it parses its own flags. */
export async function agentsCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, sub, name, ...rest] = positionals;
    const client = connectApiClient(io, values);
    const as = (): Record<string, string> => {
      if (client.authenticated) return {};
      const subject = values.as ?? io.env.KEEL_SUBJECT;
      if (!subject) throw usageError("say who makes the change: --as <you> (or KEEL_SUBJECT)", AGENTS_USAGE);
      return { "x-keel-subject": subject };
    };
    switch (sub) {
      case "list":
        return await list(client, io, values.json ?? false);
      case "show": {
        if (!name) throw usageError("keel agents show <agent>", AGENTS_USAGE);
        const shown = await client.call("registryAgent", { params: { agent: name } });
        if (values.json) io.out(JSON.stringify(shown, null, 2));
        else {
          for (const entry of shown.versions) io.out(describe(entry));
          io.out(`use keel agents card ${name} for the whole card`);
        }
        return 0;
      }
      case "card": {
        if (!name) throw usageError("keel agents card <agent>", AGENTS_USAGE);
        const card = await client.call("registryCard", {
          params: { agent: name },
          query: values.version ? { version: values.version } : {},
        });
        io.out(card.trimEnd());
        return 0;
      }
      case "attest": {
        const [version, gate] = rest;
        if (!name || !version || !gate || !values.evidence)
          throw usageError("keel agents attest <agent> <version> <gate> --evidence URL", AGENTS_USAGE);
        const details = {
          ...(values.score === undefined ? {} : { score: Number(values.score) }),
          ...(values.threshold === undefined ? {} : { threshold: Number(values.threshold) }),
          ...(values["monthly-usd"] === undefined ? {} : { monthlyUsd: Number(values["monthly-usd"]) }),
          ...(values.approved ? { approved: true } : {}),
        };
        await client.call("attest", {
          params: { agent: name, version },
          body: { gate, evidence: values.evidence, details },
          headers: as(),
        });
        io.out(`attested ${gate} for ${name}@${version}`);
        return 0;
      }
      case "status": {
        const [version, status] = rest;
        if (!name || !version || !status)
          throw usageError("keel agents status <agent> <version> <status>", AGENTS_USAGE);
        const entry = await client.call("setStatus", {
          params: { agent: name, version },
          body: { status, ...(values.reason ? { reason: values.reason } : {}) },
          headers: as(),
        });
        io.out(`${entry.agent}@${entry.version} is ${entry.status}`);
        return 0;
      }
      case "review": {
        const [version] = rest;
        if (!name || !version || !values.evidence)
          throw usageError("keel agents review <agent> <version> --evidence URL", AGENTS_USAGE);
        const entry = await client.call("recordReview", {
          params: { agent: name, version },
          body: { evidence: values.evidence },
          headers: as(),
        });
        io.out(
          `review of ${entry.agent}@${entry.version} recorded; next due ${entry.reviewDueAt?.slice(0, 10) ?? "—"}`,
        );
        return 0;
      }
      case "incident": {
        if (!name || !values.description)
          throw usageError("keel agents incident <agent> --description TEXT", AGENTS_USAGE);
        await client.call("reportIncident", {
          params: { agent: name },
          body: { description: values.description },
          headers: as(),
        });
        io.out(`incident recorded for ${name}; an ad-hoc review is now due`);
        return 0;
      }
      default:
        throw usageError(
          sub === undefined ? "keel agents needs a command" : `unknown command "agents ${sub}"`,
          AGENTS_USAGE,
        );
    }
  } catch (error) {
    return reportCliError(error, io, AGENTS_USAGE);
  }
}

async function list(client: ApiClient, io: CliIo, json: boolean): Promise<number> {
  const { agents } = await client.call("listAgents");
  const registry = await client.call("registry").catch(() => ({ agents: [] as Entry[] }));
  const entryOf = (agent: Served) =>
    registry.agents.find((entry) => entry.agent === agent.name && entry.version === agent.version);
  if (json) {
    io.out(
      JSON.stringify(
        agents.map((agent) => ({ ...agent, registry: entryOf(agent) ?? null })),
        null,
        2,
      ),
    );
    return 0;
  }
  for (const agent of agents) {
    const entry = entryOf(agent);
    const lifecycle = entry
      ? `  ${entry.status}, tier ${entry.riskTier}${entry.flags.length > 0 ? ` [${entry.flags.join(", ")}]` : ""}`
      : "";
    io.out(
      `${agent.name}@${agent.version}  ${agent.model.provider}/${agent.model.id}${agent.model.offline ? "  (offline stand-in)" : ""}${lifecycle}`,
    );
  }
  return 0;
}

function describe(entry: Entry): string {
  return [
    `${entry.agent}@${entry.version}  ${entry.status}  tier ${entry.riskTier}  owner ${entry.owner.team ?? "—"} / ${entry.owner.person ?? "—"}`,
    `  tools: ${entry.scope.tools.map((tool) => `${tool.name} (${tool.dataClasses.join(", ")})`).join(", ")}`,
    `  next review: ${entry.reviewDueAt?.slice(0, 10) ?? "after deployment"}${entry.flags.length > 0 ? `  flags: ${entry.flags.join(", ")}` : ""}`,
    ...(entry.blockers.length > 0 && entry.status !== "active"
      ? [`  cannot become active: ${entry.blockers.join("; ")}`]
      : []),
  ].join("\n");
}
