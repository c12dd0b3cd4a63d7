/**
 * Model pinning: a spec names a model by an id that always means the same weights, so a model change is a new
 * agent version that goes through a rollout rather than something a provider does on its own.
 *
 * An id is floating when:
 * - it ends in `latest` after a separator (`-latest`, `:latest`, `.latest`, `@latest`) or is `latest`, for any
 *   provider (Ollama's `llama3:latest`, OpenAI's `chatgpt-4o-latest`, Google's `gemini-1.5-pro-latest`);
 * - the provider is `anthropic` and a `claude-…` id has no snapshot date (`-20250929`, `@20250929`):
 *   Anthropic's `claude-sonnet-4-5` is an alias that moves to the newest snapshot;
 * - the provider is `openai` and a chat model id (`gpt-…`, `chatgpt-…`, `o1…`, `o3…`, `o4…`) has no snapshot date
 *   (`-2025-08-07`): OpenAI's `gpt-4o` is an alias that moves to the newest snapshot.
 * Every other id is taken as pinned (self-hosted servers and other providers name their own versions).
 */
export function floatingAliasReason(provider: string, id: string): string | null {
  if (/(^|[-:.@])latest$/i.test(id)) return `${id} ends in "latest", an alias the provider moves`;
  if (provider === "anthropic" && /^claude-/.test(id) && !/[-@]\d{8}$/.test(id))
    return `${id} has no snapshot date (such as -20250929): Anthropic moves it to the newest snapshot`;
  if (provider === "openai" && /^(gpt-|chatgpt-|o[134]\b)/.test(id) && !/-\d{4}-\d{2}-\d{2}$/.test(id))
    return `${id} has no snapshot date (such as -2025-08-07): OpenAI moves it to the newest snapshot`;
  return null;
}

type Target = { provider: string; id: string };

/** Every floating model id a model section names, each at its field's path, unless the section allows them. */
export function checkModelPinning(model: {
  provider: string;
  id: string;
  allowFloatingAlias?: boolean | undefined;
  fallbacks?: readonly Target[];
  routing?: readonly { use: Target }[];
  cascade?: { tiers: readonly Target[] } | undefined;
  classifier?: { routes: Readonly<Record<string, Target>> } | undefined;
}): { path: (string | number)[]; message: string }[] {
  if (model.allowFloatingAlias === true) return [];
  const targets: { path: (string | number)[]; target: Target }[] = [
    { path: ["id"], target: model },
    ...(model.fallbacks ?? []).map((target, index) => ({ path: ["fallbacks", index, "id"], target })),
    ...(model.routing ?? []).map((rule, index) => ({
      path: ["routing", index, "use", "id"],
      target: rule.use,
    })),
    ...(model.cascade?.tiers ?? []).map((target, index) => ({
      path: ["cascade", "tiers", index, "id"],
      target,
    })),
    ...Object.entries(model.classifier?.routes ?? {}).map(([label, target]) => ({
      path: ["classifier", "routes", label, "id"],
      target,
    })),
  ];
  return targets.flatMap(({ path, target }) => {
    const reason = floatingAliasReason(target.provider, target.id);
    return reason === null
      ? []
      : [
          {
            path,
            message: `${reason}; name a dated snapshot, or set model.allowFloatingAlias: true to accept it`,
          },
        ];
  });
}
