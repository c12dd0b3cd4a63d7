import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import type { Deployment, RolloutAction, RolloutController } from "../deployments/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * Rollouts over HTTP: start one (`POST /v1/agents/{name}/rollout`), read it, and promote, pause, resume, abort or roll
 * it back by hand. Each change is recorded in the deployment's history under the caller's subject; another tenant's
 * agent is absent (the route declarations' `owns`).
 */
export function registerRolloutRoutes(
  app: Hono,
  options: { rollouts: RolloutController; agents: AgentCatalog },
): void {
  const { rollouts, agents } = options;
  registerRoute(app, API_ROUTES.startRollout, async ({ params, body }, context) => {
    const deployment = await rollouts.start({
      name: params.name,
      to: body.to,
      ...(body.strategy === undefined ? {} : { strategy: body.strategy }),
      by: principalOf(context).subject,
    });
    return context.json(presentDeployment(deployment), 201);
  });
  registerRoute(app, API_ROUTES.rolloutStatus, async ({ params }, context) => {
    const status = await rollouts.status(params.name);
    return context.json({
      agent: params.name,
      serving: status.serving,
      versions: agents.versions(params.name).map((agent) => agent.version),
      deployment: status.deployment ? presentDeployment(status.deployment) : null,
      history: status.history.map((event) => ({ ...event, at: event.at.toISOString() })),
      verdict: status.verdict,
      comparison: status.comparison,
    });
  });
  const actions = {
    promote: API_ROUTES.promoteRollout,
    pause: API_ROUTES.pauseRollout,
    resume: API_ROUTES.resumeRollout,
    abort: API_ROUTES.abortRollout,
    rollback: API_ROUTES.rollbackRollout,
  } as const;
  for (const [action, route] of Object.entries(actions) as [
    RolloutAction,
    (typeof actions)[RolloutAction],
  ][]) {
    registerRoute(app, route, async ({ params, body }, context) => {
      const deployment = await rollouts.act({
        name: params.name,
        action,
        by: principalOf(context).subject,
        ...(body?.reason === undefined ? {} : { reason: body.reason }),
      });
      return context.json(presentDeployment(deployment));
    });
  }
}

/** A deployment as JSON: its times as ISO 8601. */
function presentDeployment(deployment: Deployment) {
  return {
    deploymentId: deployment.deploymentId,
    agent: deployment.agent,
    stableVersion: deployment.stableVersion,
    candidateVersion: deployment.candidateVersion,
    strategy: deployment.strategy,
    state: deployment.state,
    stickiness: deployment.stickiness,
    plan: deployment.plan,
    stage: deployment.stage,
    candidatePercent: deployment.candidatePercent,
    stageStartedAt: deployment.stageStartedAt.toISOString(),
    startedBy: deployment.startedBy,
    startedAt: deployment.startedAt.toISOString(),
    updatedBy: deployment.updatedBy,
    updatedAt: deployment.updatedAt.toISOString(),
    endedAt: deployment.endedAt?.toISOString() ?? null,
  };
}
