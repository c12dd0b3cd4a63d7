import { KeelError } from "../errors/index.ts";
import type { Principal, RolloutAssignment } from "../journal/index.ts";
import { type ArmComparison, compareArms, judgeStage, type StageVerdict } from "../rollout/index.ts";
import type { AgentCatalog, AgentDefinition } from "../runtime/index.ts";
import { DEFAULT_ROLLOUT, type RolloutStrategy } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import { assignArm, stickyKeyOf } from "./assign-arm.ts";
import { type Deployment, type DeploymentEvent, servingVersionAfter } from "./deployment.ts";
import { gatherArmSamples } from "./gather-arm-samples.ts";
import { planDeployment } from "./plan-deployment.ts";
import type { RolloutMetrics } from "./rollout-metrics.ts";
import { createSqlDeployments, type Deployments } from "./sql-deployments.ts";

/** The actor the controller acts as when a verdict moves a deployment. */
export const CONTROLLER_ACTOR = "system:keel";

/** What a person may do to an agent's rollout by hand. */
export type RolloutAction = "promote" | "pause" | "resume" | "abort" | "rollback";

/** Where a new run goes: the version it runs, its journaled assignment, and a candidate to shadow it with. */
export type RunRoute = {
  agent: AgentDefinition;
  rollout?: RolloutAssignment;
  /** Set under a shadow deployment: the candidate version to start a shadow of the live run with. */
  shadow?: AgentDefinition;
};

/** An agent's rollout as the API shows it: its newest deployment, its history, and the current stage's evidence. */
export type RolloutStatus = {
  /** The version new runs get outside any open deployment. */
  serving: string;
  deployment: Deployment | null;
  history: DeploymentEvent[];
  /** The verdict on the current stage (canary) or the comparison so far (ab), with each gate's evidence. */
  verdict: StageVerdict | null;
  /**
   * A running A/B test's arms since it began, metric by metric: both values, the difference with its interval, the
   * test and its two-sided p-value, and what it concludes; what the person ending the test decides from.
   */
  comparison: ArmComparison | null;
};

/** The controller: assigns new runs, starts deployments, judges their stages and acts on the verdicts. */
export type RolloutController = {
  deployments: Deployments;
  /** The version a new run of `name` gets, and its assignment when a deployment is open. */
  route(request: {
    name: string;
    principal: Principal;
    subject?: string;
    sessionId?: string;
    idempotencyKey?: string;
  }): Promise<RunRoute | undefined>;
  /** The version of `name` new runs get outside any open deployment (the current one until a promotion). */
  serving(name: string): Promise<AgentDefinition | undefined>;
  start(options: { name: string; to: string; strategy?: RolloutStrategy; by: string }): Promise<Deployment>;
  status(name: string): Promise<RolloutStatus>;
  act(options: { name: string; action: RolloutAction; by: string; reason?: string }): Promise<Deployment>;
  /** Judge the open deployment's current stage and act on the verdict (canary); null when there is nothing to judge. */
  evaluate(name: string): Promise<StageVerdict | null>;
  /** Judge every open canary every `intervalMs` (and so between runs); returns how to stop. */
  startTimer(intervalMs?: number): () => void;
};

/** Build the controller over the store's SQL client and the versions this process serves. */
export function createRolloutController(options: {
  sql: SqlClient;
  agents: AgentCatalog;
  metrics?: RolloutMetrics;
  now?: () => Date;
  log?: (message: string) => void;
}): RolloutController {
  const { agents } = options;
  const deployments = createSqlDeployments(options.sql);
  const now = options.now ?? (() => new Date());
  const log = options.log ?? ((message: string) => console.error(message));

  const served = (name: string, version: string) => agents.lookup(name, version);
  const serving = async (name: string) => {
    const current = agents.current(name);
    if (!current) return undefined;
    const ended = await deployments.latestEnded(name);
    return (ended && served(name, servingVersionAfter(ended))) ?? current;
  };
  const openOf = async (name: string) => {
    const open = await deployments.open(name);
    if (!open) throw new KeelError("conflict", `${name} has no rollout in progress`);
    return open;
  };
  const gauge = (deployment: Deployment) =>
    options.metrics?.candidatePercent(
      { agent: deployment.agent, candidate: deployment.candidateVersion },
      deployment.candidatePercent,
    );

  const verdictOf = async (deployment: Deployment): Promise<StageVerdict | null> => {
    if (deployment.strategy !== "canary" && deployment.strategy !== "ab") return null;
    const stage = deployment.plan.stages[deployment.stage]!;
    // At 100% the stable arm takes no new runs: the last stage is compared with stable's runs of the whole deployment.
    const samples = await gatherArmSamples(options.sql, {
      deploymentId: deployment.deploymentId,
      since: deployment.strategy === "ab" ? deployment.startedAt : deployment.stageStartedAt,
    });
    if (stage.percent >= 100) {
      const whole = await gatherArmSamples(options.sql, {
        deploymentId: deployment.deploymentId,
        since: deployment.startedAt,
      });
      samples.stable = whole.stable;
    }
    return judgeStage({
      stable: samples.stable,
      candidate: samples.candidate,
      gates: deployment.plan.gates,
      minRuns: stage.minRuns,
      elapsedMs: now().getTime() - deployment.stageStartedAt.getTime(),
      minDurationMs: stage.minDurationMs,
      seed: deployment.stage + 1,
    });
  };

  const comparisonOf = async (deployment: Deployment): Promise<ArmComparison> => {
    const samples = await gatherArmSamples(options.sql, {
      deploymentId: deployment.deploymentId,
      since: deployment.startedAt,
    });
    return compareArms(samples.stable, samples.candidate, deployment.plan.gates.confidence ?? 0.95);
  };

  const evaluate = async (name: string): Promise<StageVerdict | null> => {
    const deployment = await deployments.open(name);
    if (deployment?.state !== "running" || deployment.strategy !== "canary") return null;
    const verdict = await verdictOf(deployment);
    if (!verdict || verdict.action === "wait") return verdict;
    const evidence = { verdict, stage: deployment.plan.stages[deployment.stage] };
    if (verdict.action === "rollback") {
      const changed = await deployments.change({
        deploymentId: deployment.deploymentId,
        from: ["running"],
        state: "rolled_back",
        candidatePercent: 0,
        kind: "rolled_back",
        actor: CONTROLLER_ACTOR,
        reason: verdict.reason,
        evidence,
        now: now(),
      });
      if (changed) {
        options.metrics?.rolledBack({ agent: name, strategy: deployment.strategy, trigger: "automatic" });
        gauge(changed);
        log(
          `rollout: ${name}@${deployment.candidateVersion} rolled back to ${deployment.stableVersion}: ${verdict.reason}`,
        );
      }
      return verdict;
    }
    const next = deployment.stage + 1;
    const last = next >= deployment.plan.stages.length;
    const changed = await deployments.change({
      deploymentId: deployment.deploymentId,
      from: ["running"],
      ...(last
        ? { state: "promoted" as const, candidatePercent: 100, kind: "promoted" as const }
        : {
            stage: next,
            candidatePercent: deployment.plan.stages[next]!.percent,
            kind: "advanced" as const,
          }),
      actor: CONTROLLER_ACTOR,
      reason: verdict.reason,
      evidence,
      now: now(),
    });
    if (changed) {
      gauge(changed);
      log(
        last
          ? `rollout: ${name}@${deployment.candidateVersion} promoted`
          : `rollout: ${name}@${deployment.candidateVersion} advanced to ${changed.candidatePercent}%`,
      );
    }
    return verdict;
  };

  return {
    deployments,
    serving,
    async route(request) {
      const stable = await serving(request.name);
      if (!stable) return undefined;
      const open = await deployments.open(request.name);
      if (!open) return { agent: stable };
      const stableVersion = served(request.name, open.stableVersion) ?? stable;
      const candidate = served(request.name, open.candidateVersion);
      // A paused deployment, or one whose candidate this process does not serve, sends everything to stable.
      const percent = open.state === "running" && candidate ? open.candidatePercent : 0;
      const sticky = stickyKeyOf({
        stickiness: open.stickiness,
        principalSubject: request.principal.subject,
        subject: request.subject,
        sessionId: request.sessionId,
        idempotencyKey: request.idempotencyKey,
      });
      const arm = assignArm({ deploymentId: open.deploymentId, key: sticky.key, candidatePercent: percent });
      return {
        agent: arm === "candidate" && candidate ? candidate : stableVersion,
        rollout: { deployment: open.deploymentId, arm, ...sticky },
        ...(open.strategy === "shadow" && open.state === "running" && candidate ? { shadow: candidate } : {}),
      };
    },
    async start({ name, to, strategy, by }) {
      const stable = await serving(name);
      if (!stable) throw new KeelError("not_found", `no agent named "${name}"`);
      const candidate = served(name, to);
      if (!candidate) {
        const versions = agents.versions(name).map((each) => each.version);
        throw new KeelError(
          "invalid_request",
          `${name} has no version ${to} loaded (served: ${versions.join(", ")})`,
          {
            issues: [{ path: "to", message: `expected one of ${versions.join(", ")}` }],
          },
        );
      }
      if (candidate.version === stable.version) {
        throw new KeelError("invalid_request", `${name}@${to} already serves every run`, {
          issues: [{ path: "to", message: "must differ from the version serving now" }],
        });
      }
      const section = candidate.rollout ?? DEFAULT_ROLLOUT;
      const chosen = strategy ?? section.strategy;
      const plan = planDeployment(chosen, section);
      const started = await deployments.start({
        agent: name,
        tenant: candidate.tenant ?? "default",
        stableVersion: stable.version,
        candidateVersion: candidate.version,
        strategy: chosen,
        stickiness: section.stickiness,
        plan,
        candidatePercent: plan.stages[0]!.percent,
        by,
        reason: `${by} started a ${chosen} rollout of ${name} from ${stable.version} to ${candidate.version}`,
        now: now(),
      });
      gauge(started);
      if (chosen !== "direct") return started;
      // Direct: everything to the candidate at once, journaled as a start and a promotion.
      const promoted = await deployments.change({
        deploymentId: started.deploymentId,
        from: ["running"],
        state: "promoted",
        kind: "promoted",
        actor: by,
        reason: "a direct rollout gives the candidate every new run at once",
        now: now(),
      });
      return promoted ?? started;
    },
    async status(name) {
      const stable = await serving(name);
      if (!stable) throw new KeelError("not_found", `no agent named "${name}"`);
      const deployment = await deployments.latest(name);
      return {
        serving: stable.version,
        deployment,
        history: deployment ? await deployments.history(deployment.deploymentId) : [],
        verdict: deployment && deployment.state === "running" ? await verdictOf(deployment) : null,
        comparison:
          deployment && deployment.state === "running" && deployment.strategy === "ab"
            ? await comparisonOf(deployment)
            : null,
      };
    },
    async act({ name, action, by, reason }) {
      const said = reason === undefined ? "" : `: ${reason}`;
      if (action === "rollback") {
        // A rollback returns to stable: an open deployment, or the newest one if it promoted its candidate.
        const target = (await deployments.open(name)) ?? (await deployments.latest(name));
        if (
          !target ||
          (target.state !== "running" && target.state !== "paused" && target.state !== "promoted")
        )
          throw new KeelError("conflict", `${name} has no rollout in progress or promoted to roll back`);
        const changed = await deployments.change({
          deploymentId: target.deploymentId,
          from: [target.state],
          state: "rolled_back",
          candidatePercent: 0,
          kind: "rolled_back",
          actor: by,
          reason: `${by} rolled ${name} back to ${target.stableVersion}${said}`,
          now: now(),
        });
        if (!changed) throw new KeelError("conflict", `${name}'s rollout changed meanwhile; try again`);
        options.metrics?.rolledBack({ agent: name, strategy: target.strategy, trigger: "manual" });
        gauge(changed);
        return changed;
      }
      const open = await openOf(name);
      const change = (() => {
        switch (action) {
          case "promote":
            return { from: ["running", "paused"], state: "promoted", candidatePercent: 100 } as const;
          case "pause":
            return { from: ["running"], state: "paused" } as const;
          case "resume":
            return { from: ["paused"], state: "running" } as const;
          case "abort":
            // Ending an A/B test or a shadow comparison is a decision, not a failure: stable keeps the traffic.
            return {
              from: ["running", "paused"],
              state: open.strategy === "canary" ? "aborted" : "ended",
              candidatePercent: 0,
            } as const;
          default:
            throw new KeelError("invalid_request", `unknown rollout action ${String(action)}`);
        }
      })();
      if (!change.from.includes(open.state as never))
        throw new KeelError("conflict", `${name}'s rollout is ${open.state}: it cannot ${action}`);
      const kind = change.state === "running" ? "resumed" : change.state;
      const verdict = action === "promote" || action === "abort" ? await verdictOf(open) : null;
      const changed = await deployments.change({
        deploymentId: open.deploymentId,
        ...change,
        kind,
        actor: by,
        reason: `${by} ${kind.replace("_", " ")} the rollout of ${name}@${open.candidateVersion}${said}`,
        ...(verdict ? { evidence: { verdict } } : {}),
        now: now(),
      });
      if (!changed) throw new KeelError("conflict", `${name}'s rollout changed meanwhile; try again`);
      gauge(changed);
      return changed;
    },
    evaluate,
    startTimer(intervalMs = 5_000) {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        deployments
          .listOpen()
          .then(async (open) => {
            for (const deployment of open) await evaluate(deployment.agent);
          })
          .catch((error: unknown) => log(`rollout: judging open deployments failed: ${String(error)}`))
          .finally(() => {
            busy = false;
          });
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
