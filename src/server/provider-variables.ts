/** Which environment variable carries each hosted provider's key. */
export const PROVIDER_KEY_VARIABLES: Readonly<Record<string, string>> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  google: "GOOGLE_GENERATIVE_AI_API_KEY",
};

/** Optional base-URL overrides (a proxy, or a loopback server in tests). */
export const PROVIDER_BASE_URL_VARIABLES: Readonly<Record<string, string>> = {
  anthropic: "ANTHROPIC_BASE_URL",
  openai: "OPENAI_BASE_URL",
  google: "GOOGLE_GENERATIVE_AI_BASE_URL",
};
