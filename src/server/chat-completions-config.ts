import type { BudgetLedger } from "../governance/budget-ledger.ts";
import type { ModelGateway } from "../models/model-gateway.ts";
import {
  type ChatCompletionsRoute,
  createChatCompletionsRoute,
  type GatewayApiKey,
} from "./chat-completions.ts";

/**
 * The governed endpoint as the environment configures it, or null when no key is set: `KEEL_GATEWAY_API_KEY`
 * (the one configured credential until control-plane API keys land), `KEEL_GATEWAY_TENANT` (default
 * `default`) and an optional `KEEL_GATEWAY_USD_PER_DAY` cap.
 */
export function chatCompletionsFromEnv(options: {
  env: Readonly<Record<string, string | undefined>>;
  gateway: ModelGateway;
  ledger: BudgetLedger;
  log: (message: string) => void;
}): ChatCompletionsRoute | null {
  const { env } = options;
  const secret = env.KEEL_GATEWAY_API_KEY;
  if (!secret) return null;
  const perDay =
    env.KEEL_GATEWAY_USD_PER_DAY === undefined ? undefined : Number(env.KEEL_GATEWAY_USD_PER_DAY);
  if (perDay !== undefined && !(perDay > 0)) {
    throw new Error(
      `KEEL_GATEWAY_USD_PER_DAY must be a positive number of dollars, not "${env.KEEL_GATEWAY_USD_PER_DAY}"`,
    );
  }
  const key: GatewayApiKey = {
    id: "default",
    secret,
    tenant: env.KEEL_GATEWAY_TENANT ?? "default",
    ...(perDay === undefined ? {} : { budgets: { perDay: { usd: perDay } } }),
  };
  return createChatCompletionsRoute({
    gateway: options.gateway,
    keys: [key],
    ledger: options.ledger,
    log: options.log,
  });
}
