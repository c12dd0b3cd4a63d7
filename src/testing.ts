/**
 * `keel/testing`: what an agent's own tests need: the scripted model (a fixed list of turns, offline), the rules
 * model (a decision table), and an in-memory store.
 */

export type { GenerateOptions, ModelProvider, ModelTurn } from "./models/model-provider.ts";
export { createRulesModelProvider } from "./models/rules-model-provider.ts";
export { createScriptedModelProvider, type ScriptedTurn } from "./models/scripted-model-provider.ts";
export { openStore } from "./store/open-store.ts";
