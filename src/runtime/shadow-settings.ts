/**
 * How a shadow run's side-effecting call is answered: the live run's end of the same call, a fixed value, or the
 * tool's `dryRun` hook. Where the one declared cannot answer (the live run made no such call, the tool has no hook),
 * the call ends `shadowed`: the model is told it was not executed.
 */
export type ShadowResult = "live" | "dry-run" | { stub: unknown };

/** The spec's shadow settings: a result per side-effecting tool, and one for the tools it does not list. */
export type ShadowSettings = {
  results: Readonly<Record<string, ShadowResult>>;
  default: ShadowResult;
};

/** Without settings, each side-effecting call is answered with the live run's result of the same call. */
export const DEFAULT_SHADOW_SETTINGS: ShadowSettings = { results: {}, default: "live" };

/**
 * What answers a shadow run's call of `tool`. The settings are the spec's `rollout.shadow` section as the agent was
 * loaded with it; an agent loaded without one is answered by the defaults.
 */
export function shadowResultFor(settings: ShadowSettings | undefined, tool: string): ShadowResult {
  const effective = settings ?? DEFAULT_SHADOW_SETTINGS;
  return effective.results[tool] ?? effective.default;
}
