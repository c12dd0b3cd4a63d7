import { z } from "zod";
import { A2aSection, a2aToolName, checkRemoteAgentHosts } from "./a2a-section.ts";
import { ApprovalsSection, checkApprovalsTools } from "./approvals-section.ts";
import { CodeSection, codeToolNames } from "./code-section.ts";
import { durationSchema } from "./duration.ts";
import { EvalsSection } from "./eval-dataset.ts";
import { checkGovernanceTools, GovernanceSection } from "./governance-section.ts";
import { GuardsSection } from "./guards-section.ts";
import { HttpSection, httpToolNames } from "./http-section.ts";
import { JsonSchemaSource } from "./json-schema-source.ts";
import { McpSection, mcpToolName } from "./mcp-section.ts";
import { checkMemoryTools, MemorySection } from "./memory-section.ts";
import { checkModelPinning } from "./model-pinning.ts";
import { RolloutSection } from "./rollout-section.ts";

/** A duration written as `15s`, `2m`, `1h` or a number of milliseconds; parsed to milliseconds. */
export const Duration = durationSchema({
  units: ["ms", "s", "m", "h"],
  examples: "500ms, 15s, 2m or 1h",
  title: "Duration",
});

const SemVer = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : "expected a semantic version such as 1.4.0 (quote it in YAML)",
  })
  .regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "expected a semantic version such as 1.4.0 (quote it in YAML)");
const AgentName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,62}$/,
    "expected 2 to 63 lowercase letters, digits and dashes, starting with a letter",
  );

const ModelErrorClass = z
  .enum([
    "rate_limited",
    "unavailable",
    "timeout",
    "malformed_response",
    "context_too_long",
    "content_refused",
    "circuit_open",
  ])
  .describe("A class of model failure the gateway routes on.");

const Phase = z
  .enum(["planning", "execution", "error_recovery", "context_summary"])
  .describe(
    "planning: the run's first turn; error_recovery: a turn after a failed tool call; context_summary: a call that summarizes a session's oldest turns; execution: the rest.",
  );

/** A model the gateway can call: a provider and a pinned id, plus the endpoint of a self-hosted server. */
export const ModelTargetSpec = z.strictObject({
  provider: z
    .string()
    .min(1)
    .describe(
      "anthropic, openai, google, or a name of your own for an OpenAI-compatible server (with baseUrl).",
    ),
  id: z.string().min(1).describe("The pinned model id."),
  baseUrl: z
    .string()
    .url()
    .optional()
    .describe("For OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio): the /v1 base URL."),
  keyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, "expected an environment variable name such as OLLAMA_API_KEY")
    .optional()
    .describe("Environment variable holding this server's key, when it needs one (never the key itself)."),
  selfHosted: z
    .boolean()
    .optional()
    .describe("Price its calls at 0 (tokens still count). Default: true for servers given by baseUrl."),
});

const FallbackSpec = ModelTargetSpec.extend({
  on: z
    .array(ModelErrorClass)
    .min(1)
    .optional()
    .describe(
      "Error classes this fallback takes over (default: rate_limited, unavailable, timeout, circuit_open).",
    ),
});

const RoutingRuleSpec = z.strictObject({
  name: z.string().min(1).optional().describe("Name journaled with every decision this rule makes."),
  when: z
    .strictObject({
      phase: z
        .union([Phase, z.array(Phase).min(1)])
        .optional()
        .describe("The call's phase, or any of a list of phases."),
      minInputTokens: z.number().int().nonnegative().optional().describe("Estimated input tokens at least."),
      maxInputTokens: z.number().int().nonnegative().optional().describe("Estimated input tokens at most."),
      tags: z.array(z.string().min(1)).optional().describe("Every tag listed must be on the call."),
    })
    .describe("Conditions that must all hold."),
  use: ModelTargetSpec.describe("The model to use when the rule matches."),
});

/** Which model an agent uses, its fallbacks, routing, cascade and caching. `rules`/`scripted` are offline. */
export const ModelSection = z
  .strictObject({
    provider: z
      .string()
      .min(1)
      .describe("Model provider as the gateway knows it: anthropic, openai, google, rules, scripted, …"),
    id: z
      .string()
      .min(1)
      .describe(
        "The pinned model id (a dated snapshot such as claude-sonnet-4-5-20250929, never a floating alias).",
      ),
    baseUrl: ModelTargetSpec.shape.baseUrl,
    keyEnv: ModelTargetSpec.shape.keyEnv,
    selfHosted: ModelTargetSpec.shape.selfHosted,
    params: z
      .strictObject({
        temperature: z.number().min(0).max(2).optional().describe("Sampling temperature, 0 to 2."),
        maxOutputTokens: z
          .number()
          .int()
          .positive()
          .optional()
          .describe("Upper bound on tokens per model turn."),
        topP: z.number().min(0).max(1).optional().describe("Nucleus sampling mass, 0 to 1."),
      })
      .default({})
      .describe("Sampling parameters passed to the provider."),
    fallbacks: z
      .array(FallbackSpec)
      .default([])
      .describe("Models tried in order when the one before fails with a class they take over."),
    routing: z
      .array(RoutingRuleSpec)
      .default([])
      .describe("Rules choosing another model by phase, input size or tags; the first match wins."),
    cascade: z
      .strictObject({
        tiers: z
          .array(ModelTargetSpec)
          .min(2)
          .describe("Smallest model first; the last tier's answer is final."),
        escalateOn: z
          .strictObject({
            invalidOutput: z
              .boolean()
              .default(true)
              .describe("Tool calls that fail their schema, or empty answers."),
            lowConfidence: z
              .string()
              .min(1)
              .optional()
              .describe(
                "A regular expression; an answer matching it (the model saying it is unsure) escalates.",
              ),
            truncated: z.boolean().default(true).describe("An answer cut off at maxOutputTokens."),
          })
          .prefault({})
          .describe("What makes a tier's turn not good enough to keep."),
      })
      .optional()
      .describe(
        "Small model first, escalating when its output fails validation or it reports low confidence.",
      ),
    classifier: z
      .strictObject({
        examples: z
          .array(
            z.strictObject({
              text: z.string().min(1).describe("An input as users write it."),
              label: z.string().min(1).describe("The class it belongs to (a key of routes)."),
            }),
          )
          .min(2)
          .describe("Labelled inputs the local classifier is trained on (no download)."),
        routes: z.record(z.string(), ModelTargetSpec).describe("Which model each label goes to."),
        minConfidence: z
          .number()
          .min(0)
          .max(1)
          .default(0.7)
          .describe("Below this, the default route applies."),
      })
      .optional()
      .describe("Route by a local text classifier trained from these examples."),
    cache: z
      .strictObject({
        prompt: z
          .boolean()
          .default(true)
          .describe("Provider prompt caching: Anthropic breakpoints, OpenAI prompt cache keys (default on)."),
        response: z
          .strictObject({ ttl: Duration.describe("How long an exact response is reused.") })
          .optional()
          .describe(
            "Exact response cache (off unless set); never used for turns calling side-effecting tools.",
          ),
      })
      .prefault({})
      .describe("Prompt and response caching."),
    timeout: Duration.optional().describe("Limit for one try of a model call (default 60s)."),
    allowFloatingAlias: z
      .boolean()
      .optional()
      .describe(
        "Accept a floating model alias (such as -latest, or an id without a snapshot date) whose model the provider may change without a new version (default false; docs/rollout.md).",
      ),
    offline: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Path (relative to this spec) of the `rules` decision table used when no provider key is configured.",
      ),
  })
  .describe("The model the agent calls, through the gateway.");

const BudgetCap = z
  .strictObject({
    usd: z.number().positive().optional().describe("Cap in US dollars."),
    tokens: z.number().int().positive().optional().describe("Cap in tokens (input plus output)."),
    alertAt: z
      .array(z.number().gt(0).max(1))
      .default([0.5, 0.8, 1])
      .describe("Fractions of the cap that each raise one budget-alert per period."),
  })
  .refine((cap) => cap.usd !== undefined || cap.tokens !== undefined, "set usd, tokens or both");

/** Spending caps, enforced by reserving before each model call and settling after. */
export const BudgetsSection = z
  .strictObject({
    perRun: BudgetCap.optional().describe("Cap for one run."),
    perAgentPerDay: BudgetCap.optional().describe("Cap for this agent per UTC day, across all its runs."),
    perTenantPerDay: BudgetCap.optional().describe(
      "Cap for the run's tenant per UTC day, across all agents.",
    ),
  })
  .describe("Spending caps per run and per period; a run that would pass one ends as budget_exceeded.");

/** How far one run may go before it is stopped. */
export const LimitsSection = z
  .strictObject({
    maxSteps: z
      .number()
      .int()
      .positive()
      .max(1_000)
      .default(12)
      .describe("Most model turns one run may take before it ends as max_steps_exceeded."),
    runTimeout: Duration.prefault("120s").describe("Wall-clock limit for one run (default 120s)."),
    toolTimeout: Duration.prefault("15s").describe("Limit for one tool call (default 15s)."),
  })
  .describe("Limits on one run; durations are parsed to milliseconds.");

/** The shape the agent's final answer must have: JSON matching a schema, asked again when it does not. */
export const OutputSection = z
  .strictObject({
    schema: JsonSchemaSource.describe(
      "The JSON Schema the final answer must match: inline, or the path (relative to this spec) of a .json or .yaml file.",
    ),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe(
        "How many times an answer that does not match is sent back to the model, saying why, before the run fails with output_schema_mismatch (default 2).",
      ),
  })
  .describe("A structured answer: the final answer is parsed as JSON and validated against the schema.");

/** How a session's earlier turns are fitted into the model's context window. */
export const ContextSection = z
  .strictObject({
    maxTokens: z
      .number()
      .int()
      .min(256)
      .max(10_000_000)
      .optional()
      .describe(
        "The context window to fit a session's thread into, in tokens (default: the model's own window where Keel knows the model id, else 32768).",
      ),
    strategy: z
      .enum(["drop-oldest", "summarize"])
      .default("drop-oldest")
      .describe(
        "What happens to earlier turns that would not fit: drop-oldest leaves them out, oldest first; summarize folds them into a summary written by a journaled model call.",
      ),
    keepLastTurns: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(4)
      .describe(
        "With summarize: how many of the latest turns are always carried word for word; older ones are summarized once the thread would not fit.",
      ),
  })
  .describe(
    "How a session's earlier turns are carried into each new run's context (docs/sessions-and-memory.md).",
  );

/** A session's structured scratchpad: its JSON Schema. */
export const WorkingMemorySection = z
  .strictObject({
    schema: z
      .record(z.string(), z.unknown())
      .describe(
        "The JSON Schema of the working memory (an object): the model reads the current value in its context and replaces it with the update_working_memory tool, which checks it against this schema.",
      ),
  })
  .describe(
    "A per-session structured scratchpad the agent reads and updates (docs/sessions-and-memory.md); list update_working_memory in tools to use it.",
  );

/** The agent spec: one YAML file per agent version. Sections added by later capabilities are kept open. */
export const AgentSpec = z
  .strictObject({
    apiVersion: z.literal("keel/v1").describe("Format version of this file: keel/v1."),
    kind: z.literal("Agent").describe("What this file declares: Agent."),
    name: AgentName.describe(
      "Unique agent name: lowercase letters, digits and dashes, starting with a letter.",
    ),
    version: SemVer.describe("Semantic version of this agent, such as 1.4.0."),
    description: z.string().min(1).describe("What the agent is for, in a sentence."),
    owner: z
      .strictObject({
        team: z.string().min(1).describe("Owning team."),
        person: z.string().min(1).optional().describe("Person to contact, usually an email address."),
      })
      .describe("Who answers for this agent."),
    tenant: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._-]{0,62}$/,
        "expected 1 to 63 lowercase letters, digits, dots, dashes or underscores",
      )
      .default("default")
      .describe(
        "The tenant this agent belongs to: only that tenant's API keys see it, run it and change it (default: default).",
      ),
    riskTier: z
      .literal([1, 2, 3], {
        error: "expected 1 (highest risk: customer-facing, money, regulated data), 2 or 3",
      })
      .describe("1 = highest risk (customer-facing, money, regulated data), 3 = lowest."),
    prompt: z
      .string()
      .min(1)
      .describe(
        "Path (relative to this spec) of the system prompt file; its text is part of the version hash.",
      ),
    model: ModelSection,
    tools: z
      .array(z.string().min(1))
      .default([])
      .describe("Names of the tools the agent may call; each must be registered with the runtime."),
    output: OutputSection.optional(),
    limits: LimitsSection.prefault({}),
    context: ContextSection.prefault({}),
    workingMemory: WorkingMemorySection.optional(),
    budgets: BudgetsSection.optional(),
    governance: GovernanceSection.optional(),
    approvals: ApprovalsSection.optional(),
    guards: GuardsSection.prefault({}),
    evals: EvalsSection.optional().describe(
      "Eval datasets, the gate a new version must pass, judges, production sampling (docs/evals.md).",
    ),
    rollout: RolloutSection.prefault({}),
    memory: MemorySection.optional(),
    mcp: McpSection.optional(),
    http: HttpSection.optional(),
    a2a: A2aSection.optional(),
    code: CodeSection.optional(),
  })
  .superRefine((spec, context) => {
    // A floating model alias would let the provider change the agent without a new version.
    for (const issue of checkModelPinning(spec.model))
      context.addIssue({
        code: "custom",
        path: ["model", ...issue.path],
        message: issue.message,
        input: spec.model,
      });
    // An MCP tool's name must not clash with another's; the agent still lists in tools those it uses.
    const mcpNames = new Map<string, string>();
    for (const [serverIndex, server] of (spec.mcp?.servers ?? []).entries()) {
      for (const [toolIndex, tool] of server.tools.entries()) {
        const name = mcpToolName(server, tool);
        const clash = mcpNames.get(name);
        if (clash)
          context.addIssue({
            code: "custom",
            path: ["mcp", "servers", serverIndex, "tools", toolIndex, "name"],
            message: `its name ${name} is also ${clash}'s; rename one with as`,
            input: tool,
          });
        mcpNames.set(name, `${server.name}/${tool.name}`);
      }
    }
    // So must an HTTP or code tool's, with an MCP tool's or another connector tool's.
    const connectorNames = [
      ...(spec.http
        ? httpToolNames(spec.http).map((tool) => ({ ...tool, path: ["http", ...tool.path] }))
        : []),
      ...(spec.code
        ? codeToolNames(spec.code).map((tool) => ({ ...tool, path: ["code", ...tool.path] }))
        : []),
    ];
    for (const { name, path } of connectorNames) {
      const clash = mcpNames.get(name);
      if (clash)
        context.addIssue({
          code: "custom",
          path,
          message: `its name ${name} is also ${clash}'s; rename one`,
          input: name,
        });
      else if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name))
        context.addIssue({
          code: "custom",
          path,
          message: `${name} is not a tool name models accept (letters, digits, _ and -); rename it with as`,
          input: name,
        });
      mcpNames.set(
        name,
        `${path[0]}${path
          .slice(1, -1)
          .map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`))
          .join("")}`,
      );
    }
    // A remote agent's tool must not clash either, and its card is read under the agent's egress rules.
    for (const [index, agent] of (spec.a2a?.agents ?? []).entries()) {
      const name = a2aToolName(agent);
      const path = ["a2a", "agents", index, agent.as ? "as" : "name"];
      const clash = mcpNames.get(name);
      if (clash)
        context.addIssue({
          code: "custom",
          path,
          message: `its name ${name} is also ${clash}'s; rename one with as`,
          input: name,
        });
      mcpNames.set(name, `a2a.agents[${index}]`);
    }
    for (const issue of checkRemoteAgentHosts(spec.a2a, spec.http))
      context.addIssue({ code: "custom", path: issue.path, message: issue.message, input: spec.a2a });
    for (const issue of checkMemoryTools(spec.memory, spec.tools)) {
      context.addIssue({
        code: "custom",
        path: ["tools", ...issue.path],
        message: issue.message,
        input: spec,
      });
    }
    const listed = spec.tools.indexOf("update_working_memory");
    if (spec.workingMemory && listed < 0) {
      context.addIssue({
        code: "custom",
        path: ["workingMemory"],
        message:
          "list update_working_memory in tools (and allow it in governance) so the agent can update it",
        input: spec,
      });
    } else if (!spec.workingMemory && listed >= 0) {
      context.addIssue({
        code: "custom",
        path: ["tools", listed],
        message: "update_working_memory needs a workingMemory section with the memory's schema",
        input: spec,
      });
    }
    if (spec.workingMemory && spec.workingMemory.schema.type !== "object") {
      context.addIssue({
        code: "custom",
        path: ["workingMemory", "schema", "type"],
        message: 'expected "object": working memory is a JSON object',
        input: spec,
      });
    }
    for (const issue of spec.approvals ? checkApprovalsTools(spec.approvals, spec.tools) : []) {
      context.addIssue({
        code: "custom",
        path: ["approvals", ...issue.path],
        message: issue.message,
        input: spec,
      });
    }
    if (!spec.governance) return;
    for (const issue of checkGovernanceTools(spec.governance, spec.tools)) {
      context.addIssue({
        code: "custom",
        path: ["governance", ...issue.path],
        message: issue.message,
        input: spec,
      });
    }
  })
  .meta({
    title: "Keel agent spec",
    description:
      "One Keel agent version: prompt, model, tools, limits and governance. See docs/ for each section.",
  });

export type AgentSpecInput = z.input<typeof AgentSpec>;
export type AgentSpec = z.output<typeof AgentSpec>;
