import { z } from "zod";
import { A2aSection } from "./a2a-section.ts";
import { BudgetsSection, ModelSection } from "./agent-spec.ts";
import { durationSchema } from "./duration.ts";
import { EvalsSection } from "./eval-dataset.ts";
import { GovernanceSection } from "./governance-section.ts";
import { HttpSection } from "./http-section.ts";
import { JsonSchemaSource } from "./json-schema-source.ts";

// The workflow spec as written: one YAML file (`kind: Workflow`) or one `defineWorkflow({...})` call. This schema
// checks each field's shape; build-workflow-definition.ts then checks the graph and the state and turns it into
// the typed WorkflowDefinition an interpreter walks.

/** A duration written as `30s`, `15m`, `8h`, `3d` or a number of milliseconds; parsed to milliseconds. */
export const WorkflowDuration = durationSchema({
  units: ["ms", "s", "m", "h", "d"],
  examples: "30s, 15m, 8h or 3d",
  title: "WorkflowDuration",
});

const NAME_HINT = "expected letters, digits, dashes and underscores, starting with a letter";
const NodeName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, NAME_HINT)
  .describe("The name of a node in `nodes`.");
const StateName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
    "expected a state field name: letters, digits and underscores, not starting with a digit",
  )
  .describe("The name of a field in `state`.");
const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, "expected a tool name (letters, digits, _ . -)");
const AgentName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,62}$/,
    "expected 2 to 63 lowercase letters, digits and dashes, starting with a letter",
  );
const TemplateText = z.string();

/** The JSON types a state field may hold. */
export const StateType = z.enum(["string", "number", "integer", "boolean", "object", "array"]);
export type StateType = z.infer<typeof StateType>;

/** How a write combines with the value already in a state field. */
export const Reducer = z.enum(["replace", "append", "merge", "sum", "max", "min"]);
export type Reducer = z.infer<typeof Reducer>;

const StateField = z
  .strictObject({
    type: StateType.describe("The field's JSON type: string, number, integer, boolean, object or array."),
    schema: JsonSchemaSource.optional().describe(
      "For an object or array: a JSON Schema its values must match, inline or a file relative to the spec.",
    ),
    default: z.unknown().optional().describe("The value before any node writes it (absent: unset)."),
    reducer: Reducer.default("replace").describe(
      "How a write combines with the current value: replace (default; two parallel writes are an error), " +
        "append (arrays: add the output as one item), merge (objects: shallow merge), sum, max or min (numbers).",
    ),
    description: z.string().min(1).optional().describe("What the field holds."),
  })
  .describe("One typed field of the workflow's state.");

const ToolCall = z
  .strictObject({
    name: ToolName.describe("The tool to call; governed like any agent's tool call."),
    args: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Arguments by name; strings are templates such as ${state.invoice.id}, other values literal.",
      ),
  })
  .describe("A deterministic, governed tool call with arguments from state.");

const AgentCall = z
  .strictObject({
    name: AgentName.describe("The agent to run as a child run (its own journal, governance and trace)."),
    input: TemplateText.min(1).describe("The child run's input, a template such as ${state.request}."),
  })
  .describe("A child run of a named agent; its output is its answer text.");

/** A step inside a `parallel` branch or a `map`: one tool or agent call, and the state field it writes. */
const BranchStep = z
  .strictObject({
    tool: ToolCall.optional(),
    agent: AgentCall.optional(),
    writes: StateName.optional().describe(
      "The state field this step's output is written to, through the field's reducer.",
    ),
  })
  .describe("One tool or agent call (exactly one), and optionally the state field it writes.");

const Join = z
  .union([
    z.enum(["all", "any", "best-effort"]),
    z.strictObject({ quorum: z.number().int().positive().describe("How many branches must succeed.") }),
  ])
  .describe(
    "all: every branch must succeed; any: the first success wins and the rest are cancelled; {quorum: k}: " +
      "k successes; best-effort: whatever succeeds, failures recorded.",
  );

const FanOut = {
  concurrency: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Most branches running at once (default: all)."),
  timeout: WorkflowDuration.optional().describe("Limit for each branch; a branch past it fails."),
  join: Join.default("all"),
  failures: StateName.optional().describe(
    "An array state field the failed branches are recorded in ({branch, error} or {index, error}).",
  ),
};

const Decide = z
  .strictObject({
    prompt: TemplateText.min(1)
      .optional()
      .describe("The instructions, inline, as a template (exclusive with promptFile)."),
    promptFile: z
      .string()
      .min(1)
      .optional()
      .describe("Path of the instructions (a template), relative to the spec (exclusive with prompt)."),
    input: TemplateText.min(1)
      .optional()
      .describe("What the decision is about, as a template; offline rules match their `input` against it."),
    labels: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, NAME_HINT))
      .min(2)
      .optional()
      .describe("The labels the model must answer with one of (exclusive with output); `next` maps each."),
    output: JsonSchemaSource.optional().describe(
      "A JSON Schema the model's answer must match (exclusive with labels).",
    ),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe("How many times an invalid answer is asked again before the fallback (default 2)."),
    fallback: NodeName.describe("Where the workflow goes when every try gave an invalid answer."),
    rules: z
      .string()
      .min(1)
      .optional()
      .describe("A rules table (relative to the spec) that answers offline: its `answer` is the decision."),
  })
  .describe("A bounded model decision: one of a set of labels, or JSON matching a schema.");

const BranchCase = z
  .union([
    z.strictObject({
      when: z.string().min(1).describe("A condition such as state.total > 10000 && state.match == true."),
      to: NodeName.describe("Where to go when the condition holds."),
    }),
    z.strictObject({ else: NodeName.describe("Where to go when no condition holds.") }),
  ])
  .describe("{when, to}, tried in order, or the final {else}.");

const Parallel = z
  .strictObject({
    branches: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, NAME_HINT), BranchStep)
      .describe("The fixed branches, by name, each one tool or agent call."),
    ...FanOut,
  })
  .describe("Fixed branches run at once, joined by a policy.");

const MapStep = z
  .strictObject({
    over: z
      .string()
      .min(1)
      .describe("A state path (or input path) of a list, such as state.plan.steps; one branch per item."),
    do: BranchStep.describe("The call made for each item; templates in it read the item as ${item}."),
    ...FanOut,
  })
  .describe("One branch per item of a list, joined by a policy.");

const Approval = z
  .strictObject({
    routeTo: z.string().min(1).max(100).describe("The team queue the approval request goes to."),
    summary: TemplateText.min(1)
      .optional()
      .describe("What the person is asked, as a template over the state (absent: the node's description)."),
    form: JsonSchemaSource.describe("The JSON Schema (an object) of the form the person fills in."),
    sla: WorkflowDuration.describe("How long the request may wait for a person."),
    onTimeout: NodeName.optional().describe(
      "Where to go when the SLA passes (absent: the request stays open).",
    ),
    onDeny: NodeName.optional().describe("Where to go when the request is denied (absent: the run ends)."),
  })
  .describe("A human task through the approvals queue; `next` is where an approval goes.");

const Wait = z
  .strictObject({
    until: TemplateText.min(1)
      .optional()
      .describe("An ISO 8601 time, as a template such as ${state.invoice.dueAt}."),
    for: WorkflowDuration.optional().describe("A duration such as 3d."),
    signal: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, NAME_HINT)
      .optional()
      .describe("The name of a signal delivered through the API; its payload is what `writes` receives."),
    timeout: WorkflowDuration.optional().describe("For a signal: how long to wait for it."),
    onTimeout: NodeName.optional().describe("For a signal with a timeout: where to go when it passes."),
  })
  .describe("A durable timer (until a time, or for a duration) or a wait for a named signal.");

const Handoff = z
  .strictObject({
    queue: z.string().min(1).optional().describe("A team queue of people."),
    person: z.string().min(1).optional().describe("One person, usually an email address."),
    agent: AgentName.optional().describe("Another agent, which takes the conversation over."),
    reason: TemplateText.min(1).optional().describe("Why, as a template; shown to whoever takes over."),
  })
  .describe("Hands the conversation to a queue, a person or another agent (exactly one); the workflow ends.");

const End = z
  .strictObject({
    output: TemplateText.optional().describe("The run's output, as a template (absent: no output)."),
  })
  .describe("The workflow ends here.");

/** One node: exactly one kind, plus the fields that kind takes. */
export const WorkflowNodeSpec = z
  .strictObject({
    description: z.string().min(1).optional().describe("What this node is for."),
    agent: AgentCall.optional(),
    tool: ToolCall.optional(),
    decide: Decide.optional(),
    branch: z.array(BranchCase).min(1).optional().describe("Deterministic routing: {when, to}… then {else}."),
    parallel: Parallel.optional(),
    map: MapStep.optional(),
    approval: Approval.optional(),
    wait: Wait.optional(),
    handoff: Handoff.optional(),
    end: End.optional(),
    writes: StateName.optional().describe("The state field the node's output is written to."),
    next: z
      .union([NodeName, z.record(z.string(), NodeName)])
      .optional()
      .describe("The node that follows; for a decide with labels, a mapping of each label to a node."),
    maxVisits: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Most times one run may enter this node; bounds a cycle through it."),
  })
  .describe(
    "One node: exactly one of agent, tool, decide, branch, parallel, map, approval, wait, handoff or end.",
  );
export type WorkflowNodeSpec = z.output<typeof WorkflowNodeSpec>;

/** The workflow spec: one file (or one `defineWorkflow` call) per workflow version. */
export const WorkflowSpec = z
  .strictObject({
    apiVersion: z.literal("keel/v1").describe("Format version of this file: keel/v1."),
    kind: z.literal("Workflow").describe("What this file declares: Workflow."),
    name: AgentName.describe("Unique name, like an agent's: lowercase letters, digits and dashes."),
    version: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? undefined
            : "expected a semantic version such as 1.4.0 (quote it in YAML)",
      })
      .regex(
        /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/,
        "expected a semantic version such as 1.4.0 (quote it in YAML)",
      )
      .describe("Semantic version of this workflow, such as 1.0.0."),
    description: z.string().min(1).describe("What the workflow is for, in a sentence."),
    owner: z
      .strictObject({
        team: z.string().min(1).describe("Owning team."),
        person: z.string().min(1).optional().describe("Person to contact, usually an email address."),
      })
      .describe("Who answers for this workflow."),
    riskTier: z
      .literal([1, 2, 3], {
        error: "expected 1 (highest risk: customer-facing, money, regulated data), 2 or 3",
      })
      .describe("1 = highest risk (customer-facing, money, regulated data), 3 = lowest."),
    input: JsonSchemaSource.optional().describe(
      "A JSON Schema of the run's input; with properties, ${input.x} reads are checked against it.",
    ),
    state: z
      .record(StateName, StateField)
      .default({})
      .describe("The typed fields nodes read and write; reading or writing any other is an error."),
    start: NodeName.describe("The first node."),
    nodes: z.record(NodeName, WorkflowNodeSpec).describe("The nodes, by name."),
    model: ModelSection.omit({ offline: true })
      .optional()
      .describe("The model decide nodes call, through the gateway (each decide may name offline rules)."),
    limits: z
      .strictObject({
        maxSteps: z
          .number()
          .int()
          .positive()
          .max(100_000)
          .optional()
          .describe("Most node visits one run may make (default 100); declaring it bounds every cycle."),
        runTimeout: WorkflowDuration.optional().describe("Wall-clock limit for one run, such as 7d."),
      })
      .prefault({})
      .describe("Limits on one run."),
    budgets: BudgetsSection.optional(),
    governance: GovernanceSection.optional(),
    evals: EvalsSection.optional().describe(
      "Eval datasets, the gate a new version must pass, judges, production sampling (docs/evals.md).",
    ),
    http: HttpSection.optional(),
    a2a: A2aSection.optional(),
  })
  .meta({
    title: "Keel workflow spec",
    description:
      "One Keel workflow version: typed state, nodes and their edges, limits and governance. See docs/workflows.md.",
  });

export type WorkflowSpecInput = z.input<typeof WorkflowSpec>;
export type WorkflowSpec = z.output<typeof WorkflowSpec>;

/** When `limits.maxSteps` is not written: every run is still bounded. */
export const DEFAULT_WORKFLOW_MAX_STEPS = 100;
