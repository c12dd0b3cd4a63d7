/**
 * The files `keel init` writes: a project with one agent that runs with no model key (its offline rules table
 * stands in for the model), two tools, governance with one reviewed action, a Cedar policy with its tests and an
 * eval set. Each file is a function of the agent's name, so the project reads as if written for it.
 */

/** What the templates are filled in with. */
export type ProjectTemplate = {
  /** The agent's name: the project folder's name. */
  name: string;
  /** The `keel` version the project depends on. */
  keelVersion: string;
  /** From the agent's folder to the package's `schemas/` folder, for the editors' `$schema` comments. */
  schemas: string;
};

/** Every file of a new project, by its path inside the project folder. */
export function projectFiles(template: ProjectTemplate): Map<string, string> {
  const { name } = template;
  const agent = `agents/${name}`;
  return new Map([
    ["package.json", packageJson(template)],
    ["keel.config.ts", keelConfig(template)],
    ["tsconfig.json", TSCONFIG],
    [".gitignore", "node_modules/\n.keel/\n"],
    ["README.md", readme(template)],
    [`${agent}/agent.yaml`, agentYaml(template)],
    [`${agent}/prompt.md`, prompt(template)],
    [`${agent}/index.ts`, agentIndex()],
    [`${agent}/tools/search-help.ts`, SEARCH_HELP],
    [`${agent}/tools/open-ticket.ts`, openTicket(template)],
    [`${agent}/offline-rules.yaml`, offlineRules(template)],
    [`${agent}/evals/golden.yaml`, goldenSet(template)],
    [`${agent}/policies/${name}.cedar`, cedarPolicy()],
    [`${agent}/policies/policy-tests.yaml`, policyTests(template)],
  ]);
}

function packageJson({ name, keelVersion }: ProjectTemplate): string {
  const manifest = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    engines: { node: ">=24.9.0" },
    scripts: {
      serve: "keel serve",
      eval: `keel eval ${name} --gate`,
      "test:policies": `keel policy test agents/${name}/policies/policy-tests.yaml`,
      validate: `keel spec validate agents/${name}/agent.yaml`,
    },
    dependencies: { keel: `^${keelVersion}` },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

function keelConfig({ name }: ProjectTemplate): string {
  return `// The agents \`keel serve\`, \`keel worker\` and \`keel eval\` load when run in this folder.
import { defineConfig } from "keel";
import { agent } from "./agents/${name}/index.ts";

export default defineConfig({ agents: [agent] });
`;
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: "es2024",
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
    },
  },
  null,
  2,
)}\n`;

function agentYaml({ name, schemas }: ProjectTemplate): string {
  return `# yaml-language-server: $schema=${schemas}/agent-spec.schema.json
# The agent's spec: its prompt, model, tools, governance and evals (Keel's docs/agent-spec.md).
apiVersion: keel/v1
kind: Agent
name: ${name}
version: 0.1.0
description: >-
  An IT help desk assistant: answers questions from the help articles and opens a ticket for a person when it
  cannot help. Urgent tickets page the on-call engineer, so a person confirms them first.
owner: { team: it-support }
riskTier: 2

prompt: ./prompt.md

# With ANTHROPIC_API_KEY set the agent calls Claude; without it, the offline rules table stands in (labelled so).
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
  params: { temperature: 0.1, maxOutputTokens: 600 }
  offline: ./offline-rules.yaml

tools: [search_help, open_ticket]

limits: { maxSteps: 6, runTimeout: 60s, toolTimeout: 10s }

# Every tool call is decided by the governor first. Searching runs on its own; an urgent ticket waits for a
# person (keel approvals list / approve); the Cedar policies in ./policies add the team's own rules.
governance:
  allowedTools: [search_help, open_ticket]
  decisionAuthority:
    autonomous: [search_help]
    requiresHumanReview:
      - { tool: open_ticket, when: "input.priority == 'urgent'", reason: urgent tickets page the on-call engineer }
  rateLimits: { open_ticket: 20/hour }
  policies: [./policies/*.cedar]

# \`keel eval ${name} --gate\` runs these cases and exits 1 when the score falls below the gate.
evals:
  datasets: [./evals/golden.yaml]
  gate: { minScore: 1 }
`;
}

function prompt({ name }: ProjectTemplate): string {
  return `You are ${name}, the IT help desk assistant of a small company.

- Answer questions about passwords, the VPN, printers and email from the help articles: call \`search_help\`
  and quote the best article. Never invent steps that are not in an article.
- When no article answers the question, or the person asks for a person, call \`open_ticket\` with a short
  subject and the person's own words as the body, and tell them the ticket number.
- Use priority \`urgent\` only when many people cannot work (an outage); a person confirms urgent tickets.
`;
}

function agentIndex(): string {
  return `// The agent package: its spec, the setup of its own table, and its tools.
import { defineAgent } from "keel";
import { createOpenTicket, setupTickets } from "./tools/open-ticket.ts";
import { searchHelp } from "./tools/search-help.ts";

export const agent = defineAgent({
  spec: new URL("./agent.yaml", import.meta.url),
  setup: setupTickets,
  tools: ({ sql }) => [searchHelp, createOpenTicket(sql)],
});
`;
}

const SEARCH_HELP = `// A read-only tool: searches a few help articles kept in this file.
import { defineTool, z } from "keel";

const ARTICLES = [
  {
    id: "reset-password",
    title: "Reset your password",
    keywords: ["password", "log in", "login", "locked", "sign in"],
    body: "Open https://id.example.com/reset, enter your work email and follow the link we send you. The link is valid for 30 minutes.",
  },
  {
    id: "vpn",
    title: "Connect to the VPN",
    keywords: ["vpn", "remote", "home", "network"],
    body: "Install the WireGuard app, import the profile from https://id.example.com/vpn and switch it on.",
  },
  {
    id: "printer",
    title: "Add the office printer",
    keywords: ["printer", "print", "printing"],
    body: "Choose Add printer in your system settings and pick office-printer.local; it prints double-sided by default.",
  },
  {
    id: "email-on-phone",
    title: "Read your email on your phone",
    keywords: ["email", "mail", "phone", "mobile"],
    body: "Install Outlook from your app store and sign in with your work email; your phone must have a screen lock.",
  },
];

export const searchHelp = defineTool({
  name: "search_help",
  description: "Search the help articles. Returns the best matches, best first (none when nothing matches).",
  input: z.object({
    query: z.string().min(1).max(500).describe("The question, in the person's words."),
    limit: z.number().int().min(1).max(5).default(3),
  }),
  output: z.object({
    articles: z.array(z.object({ id: z.string(), title: z.string(), body: z.string() })),
  }),
  dataClasses: ["public"],
  async execute({ query, limit }) {
    const text = query.toLowerCase();
    const scored = ARTICLES.map((article) => ({
      article,
      score: article.keywords.filter((keyword) => text.includes(keyword)).length,
    }));
    const articles = scored
      .filter(({ score }) => score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map(({ article }) => ({ id: article.id, title: article.title, body: article.body }));
    return { articles };
  },
});
`;

function openTicket({ name }: ProjectTemplate): string {
  const schema = name.replaceAll("-", "_");
  return `// A side-effecting tool: opens a ticket, at most once per idempotency key, in the agent's own table.
import { defineTool, type SqlClient, z } from "keel";

const TICKETS = '"${schema}".tickets';

/** The agent's table; runs at every start, so it only creates what is missing. */
export async function setupTickets(sql: SqlClient): Promise<void> {
  await sql.query('CREATE SCHEMA IF NOT EXISTS "${schema}"');
  await sql.query(
    \`CREATE TABLE IF NOT EXISTS \${TICKETS} (
       id serial PRIMARY KEY,
       idempotency_key text NOT NULL UNIQUE,
       subject text NOT NULL,
       body text NOT NULL,
       priority text NOT NULL,
       opened_at timestamptz NOT NULL DEFAULT now()
     )\`,
  );
}

const Ticket = z.object({ ticketId: z.number().int(), subject: z.string(), priority: z.enum(["normal", "urgent"]) });
type Ticket = z.infer<typeof Ticket>;

async function findTicket(sql: SqlClient, idempotencyKey: string): Promise<Ticket | null> {
  const { rows } = await sql.query<{ id: number; subject: string; priority: "normal" | "urgent" }>(
    \`SELECT id, subject, priority FROM \${TICKETS} WHERE idempotency_key = $1\`,
    [idempotencyKey],
  );
  const row = rows[0];
  return row ? { ticketId: row.id, subject: row.subject, priority: row.priority } : null;
}

export function createOpenTicket(sql: SqlClient) {
  return defineTool({
    name: "open_ticket",
    description: "Open a ticket for a person on the IT team. Returns the ticket number.",
    input: z.object({
      subject: z.string().min(1).max(200),
      body: z.string().min(1).max(4000).describe("What the person asked, in their words."),
      priority: z.enum(["normal", "urgent"]).default("normal"),
    }),
    output: Ticket,
    sideEffect: true,
    dataClasses: ["internal"],
    // A retried call carries the same key: the UNIQUE column keeps it to one ticket.
    async execute(input, { idempotencyKey }) {
      await sql.query(
        \`INSERT INTO \${TICKETS} (idempotency_key, subject, body, priority) VALUES ($1, $2, $3, $4)
         ON CONFLICT (idempotency_key) DO NOTHING\`,
        [idempotencyKey, input.subject, input.body, input.priority],
      );
      const ticket = await findTicket(sql, idempotencyKey);
      if (!ticket) throw new Error("the ticket was not saved");
      return ticket;
    },
    // Asked when a call's outcome was never recorded (the process died mid-call): did that attempt open a ticket?
    async reconcile(_input, { idempotencyKey }) {
      const ticket = await findTicket(sql, idempotencyKey);
      return ticket ? { applied: true, result: ticket } : { applied: false };
    },
  });
}
`;
}

function offlineRules({ schemas }: ProjectTemplate): string {
  return `# yaml-language-server: $schema=${schemas}/rules-table.schema.json
# The offline stand-in for the model: on every model turn the first rule whose conditions all hold fires.
# Patterns are JavaScript regular expressions, matched case-insensitively.
apiVersion: keel/v1
kind: RulesTable
rules:
  - name: greeting
    when: { lastTool: none, input: '^\\s*(hi|hello|hey)\\b[\\s!.,]*$' }
    answer: Hi! I can answer questions about passwords, the VPN, printers and email, or open a ticket for a person.

  - name: outage-urgent-ticket
    when: { lastTool: none, input: '\\b(outage|is down|nobody can|everyone|urgent)\\b' }
    call:
      tool: open_ticket
      arguments: { subject: Possible outage reported in the help desk chat, body: "{{input}}", priority: urgent }

  - name: ask-a-person
    when: { lastTool: none, input: '\\b(a person|a human|someone|ticket)\\b' }
    call:
      tool: open_ticket
      arguments: { subject: Asked for a person in the help desk chat, body: "{{input}}", priority: normal }

  - name: search-help
    when: { lastTool: none }
    call: { tool: search_help, arguments: { query: "{{input}}", limit: 3 } }

  - name: answer-from-article
    when: { lastTool: search_help, lastResult: { articles.0.title: { exists: true } } }
    answer: 'From the help article "{{last.result.articles.0.title}}": {{last.result.articles.0.body}}'

  - name: no-article-open-ticket
    when: { lastTool: search_help }
    call:
      tool: open_ticket
      arguments: { subject: Question the help articles do not answer, body: "{{input}}", priority: normal }

  - name: ticket-opened
    when: { lastTool: open_ticket, lastError: false }
    answer: >-
      I've opened ticket #{{last.result.ticketId}} ({{last.result.priority}}) for the IT team; a person will
      follow up with you.

  - name: ticket-refused
    when: { lastTool: open_ticket, lastError: true }
    answer: "I couldn't open a ticket: {{last.error.message}} Please email it@example.com instead."
`;
}

function goldenSet({ name, schemas }: ProjectTemplate): string {
  return `# yaml-language-server: $schema=${schemas}/eval-dataset.schema.json
# Graded from each run's journal: the answer, the tools called and their arguments, governance and bounds.
dataset: ${name}-golden
description: Help articles, tickets for a person, and an urgent ticket that waits for review.
kind: regression
cases:
  - id: password-article
    input: How do I reset my password?
    expect:
      status: completed
      tools: { called: [search_help], forbidden: [open_ticket] }
      output: { contains: [Reset your password] }
      governance: allowed
      bounds: { maxSteps: 3 }
  - id: vpn-article
    input: The VPN will not connect from home
    expect:
      status: completed
      output: { contains: [WireGuard] }
  - id: no-article-opens-a-ticket
    input: My monitor flickers
    expect:
      status: completed
      tools: { called: [search_help, open_ticket], arguments: { open_ticket: { priority: normal } } }
      output: { regex: "ticket #\\\\d+" }
  - id: asks-for-a-person
    input: Can I talk to a person please
    expect:
      status: completed
      tools: { called: [open_ticket], forbidden: [search_help] }
  - id: outage-waits-for-review
    input: Email is down for everyone in the office
    expect:
      status: suspended
      tools: { called: [open_ticket], arguments: { open_ticket: { priority: urgent } } }
      governance: { open_ticket: escalated }
`;
}

function cedarPolicy(): string {
  return `// The team's own policies, evaluated with Cedar beside the ones Keel compiles from agent.yaml.
// \`keel policy validate\` checks them against the schema generated from the tools.

// Guests (visitors on the office Wi-Fi) may read the help articles but not open tickets.
@id("no-tickets-for-guests")
@reason("guests cannot open tickets; ask a colleague to open one for you")
forbid (principal in Keel::Role::"guest", action == Keel::Action::"tool:open_ticket", resource);
`;
}

function policyTests({ name, schemas }: ProjectTemplate): string {
  return `# yaml-language-server: $schema=${schemas}/policy-tests.schema.json
# Table-driven tests of the agent's policies: \`npx keel policy test agents/${name}/policies/policy-tests.yaml\`
apiVersion: keel/v1
kind: PolicyTests
agent: ${name}
tests:
  - name: searching the help articles runs on its own
    tool: search_help
    input: { query: reset my password }
    user: { roles: [employee] }
    expect: allow

  - name: a normal ticket runs on its own
    tool: open_ticket
    input: { subject: Monitor flickers, body: My monitor flickers, priority: normal }
    user: { roles: [employee] }
    expect: allow

  - name: an urgent ticket waits for a person
    tool: open_ticket
    input: { subject: Outage, body: Email is down, priority: urgent }
    user: { roles: [employee] }
    expect: review
    reason: urgent tickets page the on-call engineer

  - name: guests may not open tickets
    tool: open_ticket
    input: { subject: Printer, body: The printer is jammed, priority: normal }
    user: { roles: [guest] }
    expect: deny
    policies: ["policies/${name}.cedar#no-tickets-for-guests"]
`;
}

function readme({ name }: ProjectTemplate): string {
  return `# ${name}

An agent project made by \`keel init\`. It runs with no model key: without \`ANTHROPIC_API_KEY\` the offline
rules table (\`agents/${name}/offline-rules.yaml\`) stands in for the model, and every output says so.

| file | what it is |
|---|---|
| \`keel.config.ts\` | the agents \`keel serve\`, \`keel worker\` and \`keel eval\` load in this folder |
| \`agents/${name}/agent.yaml\` | the spec: prompt, model, tools, governance, evals |
| \`agents/${name}/index.ts\` | the package: the spec, the setup of the agent's table, its tools |
| \`agents/${name}/tools/\` | \`search_help\` (reads) and \`open_ticket\` (a side effect, once per idempotency key) |
| \`agents/${name}/offline-rules.yaml\` | the offline stand-in for the model |
| \`agents/${name}/evals/golden.yaml\` | the eval set \`npm run eval\` gates on |
| \`agents/${name}/policies/\` | a Cedar policy and its table-driven tests |

\`\`\`sh
npx keel serve                                            # the API on http://127.0.0.1:7420, data under .keel/
npx keel run ${name} "How do I reset my password?"       # in another terminal
npx keel run ${name} "Email is down for everyone"        # waits for a person: npx keel approvals list
npx keel eval ${name} --gate                             # exits 1 when the eval set fails its gate
npx keel policy test agents/${name}/policies/policy-tests.yaml
\`\`\`
`;
}
