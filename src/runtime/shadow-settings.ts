import type { RolloutSection, ShadowResult } from "../spec/index.ts";

/**
 * The spec's `rollout.shadow` section: how a shadow run's side-effecting calls are answered — per tool, and for the
 * tools it does not list — with the live run's end of the same call, a stub value, or the tool's `dryRun` hook. Where
 * the one declared cannot answer (the live run made no such call, the tool has no hook), the call ends `shadowed`:
 * the model is told it was not executed.
 */
export type ShadowSettings = RolloutSection["shadow"];

/** Without a rollout section, each side-effecting call is answered with the live run's result of the same call. */
export const DEFAULT_SHADOW_SETTINGS: ShadowSettings = { results: {}, default: "live" };

/** What answers a shadow run's call of `tool` under the agent's settings (absent: the defaults). */
export function shadowResultFor(settings: ShadowSettings | undefined, tool: string): ShadowResult {
  const effective = settings ?? DEFAULT_SHADOW_SETTINGS;
  return effective.results[tool] ?? effective.default;
}
