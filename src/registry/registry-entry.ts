import type { AgentStatus, Gate } from "./lifecycle-rules.ts";

/** One tool in an agent's scope: what it can touch. */
export type ToolScope = {
  name: string;
  dataClasses: string[];
  sideEffect: boolean;
  sendsDataOutside: boolean;
};

/** An agent version's tool and data-access scope, derived from its spec and its tools' declarations. */
export type AgentScope = {
  tools: ToolScope[];
  dataAccess: { allowPii: boolean; allowFinancial: boolean; maxRecordsPerQuery: number | null };
  /** The union of the tools' data classes. */
  dataClasses: string[];
};

/** What registering a version records (from its spec). */
export type RegisterAgentVersion = {
  agent: string;
  version: string;
  specHash: string;
  description: string;
  owner: { team: string | null; person: string | null };
  riskTier: 1 | 2 | 3;
  scope: AgentScope;
};

/** An agent version as the registry holds it, with what the rules derive from it now. */
export type RegistryEntry = RegisterAgentVersion & {
  status: AgentStatus;
  registeredAt: Date;
  deployedAt: Date | null;
  lastReviewAt: Date | null;
  reviewRequestedAt: Date | null;
  reviewReason: string | null;
  /** `orphan`, `review_overdue`, `ad_hoc_review`, `scope_change`. */
  flags: string[];
  reviewDueAt: Date | null;
  /** Why it may not become active now; empty when it may. */
  blockers: string[];
};

/** One gate's attestation: who, when, and the evidence link. */
export type Attestation = {
  id: number;
  agent: string;
  version: string;
  gate: Gate;
  attestedBy: string;
  attestedAt: Date;
  evidence: string;
  details: Record<string, unknown>;
};

/** One line of a version's history. */
export type HistoryEntry = {
  at: Date;
  agent: string;
  version: string | null;
  actor: string;
  action: string;
  details: Record<string, unknown>;
};

/** The scope of an agent from what its spec and tools declare. */
export function scopeOf(options: {
  tools: readonly {
    name: string;
    dataClasses?: readonly string[];
    sideEffect: boolean;
    sendsDataOutside?: boolean;
  }[];
  dataAccess?:
    | { allowPii?: boolean; allowFinancial?: boolean; maxRecordsPerQuery?: number | undefined }
    | undefined;
}): AgentScope {
  const tools = options.tools
    .map((tool) => ({
      name: tool.name,
      dataClasses: [
        ...(tool.dataClasses && tool.dataClasses.length > 0 ? tool.dataClasses : ["internal"]),
      ].sort(),
      sideEffect: tool.sideEffect,
      sendsDataOutside: tool.sendsDataOutside ?? false,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    tools,
    dataAccess: {
      allowPii: options.dataAccess?.allowPii ?? false,
      allowFinancial: options.dataAccess?.allowFinancial ?? false,
      maxRecordsPerQuery: options.dataAccess?.maxRecordsPerQuery ?? null,
    },
    dataClasses: [...new Set(tools.flatMap((tool) => tool.dataClasses))].sort(),
  };
}

/** True when two scopes differ in any tool, class or data grant: a scope change calls for an ad-hoc review. */
export function scopeChanged(before: AgentScope, after: AgentScope): boolean {
  return JSON.stringify(before) !== JSON.stringify(after);
}
