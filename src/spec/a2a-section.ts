import { z } from "zod";
import { byteLimit } from "./byte-limit.ts";
import { durationSchema } from "./duration.ts";
import { type HttpSection, hostAllowed } from "./http-section.ts";
import { ValueSource } from "./mcp-section.ts";

const Timeout = durationSchema({ units: ["ms", "s", "m"], examples: "500ms, 30s or 2m", title: "Duration" });

const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, "expected letters, digits, _ and - (what model providers accept)");

const RemoteAgentSpec = z.strictObject({
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9_-]{0,62}$/,
      "expected up to 63 lowercase letters, digits, _ and -, starting with a letter",
    )
    .describe("The remote agent's name in this spec; the tool is named after it unless renamed with as."),
  card: z
    .url({ protocol: /^https?$/ })
    .describe(
      "The full URL of the remote agent's Agent Card (…/.well-known/agent-card.json); its host must be in http.allowHosts.",
    ),
  as: ToolName.optional().describe("The name the agent knows the tool by (default: its name)."),
  description: z
    .string()
    .min(1)
    .max(4_000)
    .optional()
    .describe(
      "What the model reads about the tool (default: the card's description and skills, checked for injected instructions).",
    ),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name"), ValueSource)
    .default({})
    .describe("Headers sent with every request, the card's included (an API key through fromEnv)."),
  pin: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, "expected sha256: and 64 lowercase hex digits")
    .optional()
    .describe(
      "The hash of the card a person approved: a card that no longer matches is refused at load. Required when the card reads as instructions to the model.",
    ),
  timeout: Timeout.prefault("60s").describe(
    "How long one call waits for the remote task to finish or wait for a person (default 60s); then the task is cancelled.",
  ),
  maxResultBytes: byteLimit(
    "The largest answer a call may return, in bytes of JSON (default 1 MiB); a larger one is the call's error.",
  ),
  sideEffect: z
    .boolean()
    .default(true)
    .describe(
      "False for a remote agent that only answers; one that may act (the default) gets an idempotency key, sent as the message id, and is retried at most once.",
    ),
  dataClasses: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "expected a lowercase data class"))
    .optional()
    .describe(
      "Classes of data its answers hold (A2A declares none): public, internal, pii, financial, secret…",
    ),
  sendsDataOutside: z
    .boolean()
    .default(true)
    .describe("True (the default) when the remote agent is outside the organisation: the input leaves it."),
});

export type RemoteAgentSpec = z.output<typeof RemoteAgentSpec>;

export const A2aSection = z
  .strictObject({
    agents: z
      .array(RemoteAgentSpec)
      .min(1)
      .describe("Remote A2A agents the agent may call, each one tool taking { input }."),
  })
  .superRefine((section, context) => {
    const names = new Set<string>();
    section.agents.forEach((agent, index) => {
      if (names.has(agent.name))
        context.addIssue({
          code: "custom",
          path: ["agents", index, "name"],
          message: `${agent.name} is listed twice`,
          input: agent.name,
        });
      names.add(agent.name);
    });
  })
  .describe(
    "Remote agents reached through the Agent2Agent protocol, each called as a governed tool (docs/connectors.md).",
  );

export type A2aSection = z.output<typeof A2aSection>;

/** The name the agent knows a remote agent's tool by. */
export function a2aToolName(agent: { name: string; as?: string | undefined }): string {
  return agent.as ?? agent.name;
}

/**
 * Each remote agent's card must be on a host the spec's egress allowlist (`http.allowHosts`) names: an agent or a
 * workflow has one allowlist for every host it reaches. The issues are at each card's field path.
 */
export function checkRemoteAgentHosts(
  a2a: A2aSection | undefined,
  http: HttpSection | undefined,
): { path: (string | number)[]; message: string }[] {
  return (a2a?.agents ?? []).flatMap((agent, index) => {
    const path = ["a2a", "agents", index, "card"];
    const host = new URL(agent.card).hostname.toLowerCase();
    if (!http)
      return [
        {
          path,
          message: `remote agents are reached under the egress rules: add an http section whose allowHosts names ${host}`,
        },
      ];
    if (!hostAllowed(host, http.allowHosts))
      return [{ path, message: `host ${host} is not in http.allowHosts (${http.allowHosts.join(", ")})` }];
    return [];
  });
}
