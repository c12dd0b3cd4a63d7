import type { BudgetLedger } from "../governance/index.ts";
import type { ModelGateway } from "../models/index.ts";
import { PROVIDER_KEY_VARIABLES } from "./bind-agent-package.ts";
import {
  type ChatCompletionsOptions,
  type ChatCompletionsRoute,
  createChatCompletionsRoute,
} from "./chat-completions.ts";
import { principalOf } from "./request-principal.ts";

/**
 * The governed endpoint behind the control plane: callers are the API keys the authorization gate accepted (the
 * invoker role), each spending under its own `key:<id>` budget and its tenant's; in development mode the local
 * developer. `KEEL_GATEWAY_USD_PER_DAY` caps every key's spend per UTC day.
 */
export function chatCompletionsFromEnv(options: {
  env: Readonly<Record<string, string | undefined>>;
  gateway: ModelGateway;
  ledger: BudgetLedger;
  metrics: ChatCompletionsOptions["metrics"];
  log: (message: string) => void;
}): ChatCompletionsRoute {
  const { env } = options;
  const perDay =
    env.KEEL_GATEWAY_USD_PER_DAY === undefined ? undefined : Number(env.KEEL_GATEWAY_USD_PER_DAY);
  if (perDay !== undefined && !(perDay > 0)) {
    throw new Error(
      `KEEL_GATEWAY_USD_PER_DAY must be a positive number of dollars, not "${env.KEEL_GATEWAY_USD_PER_DAY}"`,
    );
  }
  return createChatCompletionsRoute({
    gateway: options.gateway,
    identify: (context) => ({
      id: context.get("apiKeyId") ?? principalOf(context).subject,
      tenant: principalOf(context).tenant,
      ...(perDay === undefined ? {} : { budgets: { perDay: { usd: perDay } } }),
    }),
    ledger: options.ledger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    log: options.log,
    providers: Object.keys(PROVIDER_KEY_VARIABLES),
  });
}
