import { KeelError } from "../errors/index.ts";
import { type ModelGateway, type ModelProvider, routedModelProvider } from "../models/index.ts";
import type { LoadedWorkflowSpec } from "../spec/index.ts";
import { createEnvModelGateway, type ModelChoice, missingKey, modelPolicyOf } from "./bind-agent-package.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The model of a workflow that calls none: each `decide` node answers from its own rules table (the interpreter
 * uses a node's rules whenever the workflow's model is offline), so a call that reaches this provider is a decide
 * node with neither a hosted model nor rules. It fails the call, saying so.
 */
export function offlineWorkflowModel(reason: string): ModelProvider {
  return {
    provider: "none",
    model: "none",
    offline: true,
    async generate() {
      throw new Error(
        `this workflow has no hosted model (${reason}) and this decide node has no rules table`,
      );
    },
  };
}

/**
 * Choose a workflow's model the way an agent's is chosen: with a hosted `model` section and its provider's key
 * set, decide nodes call it through the gateway (fallbacks, routing, caches). Without a model section, with the
 * `rules` provider, or without the key, each decide node answers from its own rules table, labelled as such; a
 * decide node with no table then stops the start with a message naming the variable to set.
 */
export function chooseWorkflowModel(
  loaded: LoadedWorkflowSpec,
  env: Env,
  options: { gateway?: ModelGateway } = {},
): ModelChoice {
  const workflow = loaded.definition;
  const model = workflow.model;
  const offlineLabel = "offline: each decide node's rules table";
  if (!model || model.provider === "rules" || model.provider === "scripted") {
    return {
      provider: offlineWorkflowModel(model ? `the spec asks for ${model.provider}` : "the spec names none"),
      label: offlineLabel,
    };
  }
  const policy = modelPolicyOf({ model });
  const primaryMissing = missingKey(policy.primary, env);
  if (primaryMissing !== null) {
    const withoutRules = Object.values(workflow.nodes).filter(
      (node) => node.kind === "decide" && !node.rules,
    );
    if (withoutRules.length > 0) {
      throw new KeelError(
        "invalid_spec",
        `workflow ${workflow.name} uses ${model.provider}/${model.id}, but ${primaryMissing} is not set. Set ${primaryMissing} to your ${model.provider} API key, or give the decide nodes ${withoutRules.map((node) => node.name).join(", ")} a rules table (${loaded.file}) to run offline.`,
      );
    }
    return {
      provider: offlineWorkflowModel(`${primaryMissing} is not set`),
      label: `rules — offline stand-in for ${model.provider}/${model.id} (${primaryMissing} is not set): each decide node's rules table`,
    };
  }
  const missing = [
    ...new Set(
      [...policy.fallbacks, ...policy.rules.map((rule) => rule.use)].flatMap(
        (ref) => missingKey(ref, env) ?? [],
      ),
    ),
  ];
  if (missing.length > 0) {
    throw new KeelError(
      "invalid_spec",
      `workflow ${workflow.name} routes to models whose keys are not set: ${missing.join(", ")}. Set them, or remove those models from ${loaded.file}.`,
    );
  }
  const gateway = options.gateway ?? createEnvModelGateway({ env });
  return {
    provider: routedModelProvider({ gateway, policy, agent: workflow.name }),
    label: `${model.provider}/${model.id} through the gateway`,
  };
}
