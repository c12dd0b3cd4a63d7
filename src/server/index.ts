// server/: the HTTP API (Hono) with SSE, the authorization gate, metrics and the OpenAI-compatible gateway,
// and createKeel, the one place that assembles Keel (store, gateway, governor, agents, workers); a composition root.
export { auditSignerFromEnv, existingAuditSignerFromEnv } from "./audit-checkpoints-config.ts";
export { createEnvModelGateway, type ModelChoice, missingKey, modelPolicyOf } from "./bind-agent-package.ts";
export { governedWorkflow } from "./bind-workflow-package.ts";
export { CONSOLE_DIST } from "./console-routes.ts";
export { type ChooseModelOverride, type CreateKeelOptions, createKeel, type Keel } from "./create-keel.ts";
export { parseAllowedOrigins } from "./guard-browser-requests.ts";
export { KEEL_VERSION } from "./keel-version.ts";
export { memoryEmbedderOf, memoryToolsOf } from "./memory-tools-config.ts";
export { startServer } from "./start-server.ts";
