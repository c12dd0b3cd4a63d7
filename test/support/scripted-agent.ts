import { createScriptedModelProvider, type ScriptedTurn } from "../../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import type { Tool } from "../../src/tools/tool.ts";

/** An agent definition for tests: a scripted model, the given tools, and a count of model calls. */
export function scriptedAgent(options: {
  turns: readonly ScriptedTurn[];
  tools?: readonly Tool[];
  name?: string;
  version?: string;
  maxSteps?: number;
  runTimeout?: number;
  toolTimeout?: number;
  modelDelayMs?: number;
}): AgentDefinition & { modelCalls: () => number } {
  let calls = 0;
  const scripted = createScriptedModelProvider({
    turns: options.turns,
    ...(options.modelDelayMs === undefined ? {} : { delayMs: options.modelDelayMs }),
  });
  return {
    name: options.name ?? "tester",
    version: options.version ?? "1.0.0",
    versionHash: "sha256:test",
    description: "An agent for tests.",
    owner: { team: "qa" },
    riskTier: 3,
    system: "",
    provider: {
      ...scripted,
      generate: async (request) => {
        calls += 1;
        return await scripted.generate(request);
      },
    },
    tools: new Map((options.tools ?? []).map((tool) => [tool.name, tool])),
    params: {},
    limits: {
      maxSteps: options.maxSteps ?? 5,
      runTimeout: options.runTimeout ?? 30_000,
      toolTimeout: options.toolTimeout ?? 5_000,
    },
    modelCalls: () => calls,
  };
}
