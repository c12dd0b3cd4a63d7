import type { GovernanceSection, PolicyMode } from "../spec/index.ts";

/** How arguments fared against a tool's own input schema. */
export type ArgumentCheck = { ok: true; value: unknown } | { ok: false; message: string };

/** What the governor knows of one tool: enough to build its Cedar entity and schema and to check arguments. */
export type GovernedTool = {
  name: string;
  /** The JSON Schema of the tool's arguments (input side), from which the Cedar schema is generated. */
  inputSchema: Record<string, unknown>;
  /** Classes of data the tool's results contain; none declared means `internal`. */
  dataClasses: readonly string[];
  sendsDataOutside: boolean;
  sideEffect: boolean;
  /** The argument that counts the records one call returns. */
  recordLimitArgument?: string;
  /** Validate the arguments as the tool would; the governor denies what the tool would refuse. */
  checkArguments(args: unknown): ArgumentCheck;
};

/** A team Cedar file as the governor receives it. */
export type GovernedPolicyFile = { path: string; text: string; mode: PolicyMode };

/** One agent version as the governor sees it: its governance section, its tools and its team policy files. */
export type GovernedAgent = {
  name: string;
  version: string;
  /** Absent means no policies at all, so every action is denied. */
  governance: GovernanceSection | undefined;
  tools: readonly GovernedTool[];
  policyFiles: readonly GovernedPolicyFile[];
  /** The data classes its `remember` tool may store (the spec's `memory.longTerm.dataClasses`); absent: no memory. */
  memoryDataClasses?: readonly string[];
  /**
   * Which tools a run tainted by a flagged tool result may call only after review (the spec's
   * `guards.toolResults.taint`): those sending data outside, those too with side effects, or none. Absent: outbound.
   */
  taintGate?: TaintGate;
};

/** The tools the taint gate holds: `outbound` (sendsDataOutside), `side-effects` (also sideEffect), `off`. */
export type TaintGate = "outbound" | "side-effects" | "off";
