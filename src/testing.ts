/**
 * `keel/testing`: what an agent's own tests need: the scripted model (a fixed list of turns, offline), the rules
 * model (a decision table), and an in-memory store.
 */

export type { GenerateOptions, ModelProvider, ModelTurn } from "./models/index.ts";
export { createRulesModelProvider, createScriptedModelProvider, type ScriptedTurn } from "./models/index.ts";
export { openStore } from "./store/index.ts";
