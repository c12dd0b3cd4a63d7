import { randomBytes } from "node:crypto";
import { KeelError } from "../errors/index.ts";
import type { RolloutStrategy, StickinessKey } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import {
  type Deployment,
  type DeploymentEvent,
  type DeploymentEventKind,
  type DeploymentPlan,
  type DeploymentState,
  OPEN_STATES,
} from "./deployment.ts";

const UNIQUE_VIOLATION = "23505";

/** A change of a deployment and the history entry that records it, written together. */
export type DeploymentChange = {
  deploymentId: string;
  /** The change applies only while the deployment is in one of these states (a lost race changes nothing). */
  from: readonly DeploymentState[];
  state?: DeploymentState;
  stage?: number;
  candidatePercent?: number;
  kind: DeploymentEventKind;
  actor: string;
  reason: string;
  evidence?: Record<string, unknown>;
  now: Date;
};

/** Deployments and their history, kept in `keel_deployments` and `keel_deployment_events` (migration 0029). */
export type Deployments = {
  /** Open a deployment; a conflict when the agent already has one running or paused. */
  start(options: {
    agent: string;
    tenant: string;
    stableVersion: string;
    candidateVersion: string;
    strategy: RolloutStrategy;
    stickiness: StickinessKey;
    plan: DeploymentPlan;
    candidatePercent: number;
    by: string;
    reason: string;
    now: Date;
  }): Promise<Deployment>;
  /** The agent's running or paused deployment, or null. */
  open(agent: string): Promise<Deployment | null>;
  /** Every open deployment, for the controller's timer. */
  listOpen(): Promise<Deployment[]>;
  /** The agent's newest deployment, open or over, or null. */
  latest(agent: string): Promise<Deployment | null>;
  /** The agent's newest deployment that is over, whose outcome decides the version it serves. */
  latestEnded(agent: string): Promise<Deployment | null>;
  history(deploymentId: string): Promise<DeploymentEvent[]>;
  /** Apply a change and record it; null when the deployment was no longer in a `from` state. */
  change(change: DeploymentChange): Promise<Deployment | null>;
};

type DeploymentRow = {
  deployment_id: string;
  agent: string;
  tenant: string;
  stable_version: string;
  candidate_version: string;
  strategy: RolloutStrategy;
  state: DeploymentState;
  stickiness: StickinessKey;
  plan: DeploymentPlan;
  stage: number;
  candidate_percent: number;
  stage_started_at: Date;
  started_by: string;
  started_at: Date;
  updated_by: string;
  updated_at: Date;
  ended_at: Date | null;
};

type EventRow = {
  seq: number;
  kind: DeploymentEventKind;
  stage: number;
  candidate_percent: number;
  actor: string;
  reason: string;
  evidence: Record<string, unknown> | null;
  at: Date;
};

function toDeployment(row: DeploymentRow): Deployment {
  return {
    deploymentId: row.deployment_id,
    agent: row.agent,
    tenant: row.tenant,
    stableVersion: row.stable_version,
    candidateVersion: row.candidate_version,
    strategy: row.strategy,
    state: row.state,
    stickiness: row.stickiness,
    plan: row.plan,
    stage: Number(row.stage),
    candidatePercent: Number(row.candidate_percent),
    stageStartedAt: row.stage_started_at,
    startedBy: row.started_by,
    startedAt: row.started_at,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
  };
}

const ENDED = "state NOT IN ('running', 'paused')";

/** The deployments port on the store's SQL client: the same statements on PGlite and PostgreSQL. */
export function createSqlDeployments(sql: SqlClient): Deployments {
  const one = async (where: string, params: unknown[]) => {
    const { rows } = await sql.query<DeploymentRow>(
      `SELECT * FROM keel_deployments WHERE ${where} ORDER BY started_at DESC, deployment_id DESC LIMIT 1`,
      params,
    );
    return rows[0] ? toDeployment(rows[0]) : null;
  };
  const record = async (tx: SqlClient, deployment: Deployment, change: Omit<DeploymentChange, "from">) => {
    await tx.query(
      `INSERT INTO keel_deployment_events
         (deployment_id, seq, kind, stage, candidate_percent, actor, reason, evidence, at)
       VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM keel_deployment_events WHERE deployment_id = $1),
         $2, $3, $4, $5, $6, $7::text::jsonb, $8)`,
      [
        deployment.deploymentId,
        change.kind,
        deployment.stage,
        deployment.candidatePercent,
        change.actor,
        change.reason,
        change.evidence === undefined ? null : JSON.stringify(change.evidence),
        change.now,
      ],
    );
  };
  return {
    async start(options) {
      const deploymentId = `dep_${options.now.getTime().toString(36)}${randomBytes(6).toString("hex")}`;
      try {
        return await sql.transaction(async (tx) => {
          const { rows } = await tx.query<DeploymentRow>(
            `INSERT INTO keel_deployments
               (deployment_id, agent, tenant, stable_version, candidate_version, strategy, state, stickiness, plan,
                stage, candidate_percent, stage_started_at, started_by, started_at, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8::text::jsonb, 0, $9, $10, $11, $10, $11, $10)
             RETURNING *`,
            [
              deploymentId,
              options.agent,
              options.tenant,
              options.stableVersion,
              options.candidateVersion,
              options.strategy,
              options.stickiness,
              JSON.stringify(options.plan),
              options.candidatePercent,
              options.now,
              options.by,
            ],
          );
          const deployment = toDeployment(rows[0]!);
          await record(tx, deployment, {
            deploymentId,
            kind: "started",
            actor: options.by,
            reason: options.reason,
            evidence: { strategy: options.strategy, plan: options.plan },
            now: options.now,
          });
          return deployment;
        });
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
        throw new KeelError(
          "conflict",
          `${options.agent} already has a rollout in progress: promote, abort or roll it back first`,
        );
      }
    },
    open: (agent) => one("agent = $1 AND state IN ('running', 'paused')", [agent]),
    async listOpen() {
      const { rows } = await sql.query<DeploymentRow>(
        `SELECT * FROM keel_deployments WHERE state = ANY($1::text[]) ORDER BY started_at`,
        [OPEN_STATES],
      );
      return rows.map(toDeployment);
    },
    latest: (agent) => one("agent = $1", [agent]),
    latestEnded: (agent) => one(`agent = $1 AND ${ENDED}`, [agent]),
    async history(deploymentId) {
      const { rows } = await sql.query<EventRow>(
        `SELECT seq, kind, stage, candidate_percent, actor, reason, evidence, at FROM keel_deployment_events
          WHERE deployment_id = $1 ORDER BY seq`,
        [deploymentId],
      );
      return rows.map((row) => ({
        seq: Number(row.seq),
        kind: row.kind,
        stage: Number(row.stage),
        candidatePercent: Number(row.candidate_percent),
        actor: row.actor,
        reason: row.reason,
        evidence: row.evidence,
        at: row.at,
      }));
    },
    async change(change) {
      return await sql.transaction(async (tx) => {
        const ends = change.state !== undefined && !OPEN_STATES.includes(change.state);
        const { rows } = await tx.query<DeploymentRow>(
          `UPDATE keel_deployments SET
             state = coalesce($3, state),
             stage = coalesce($4, stage),
             candidate_percent = coalesce($5, candidate_percent),
             stage_started_at = CASE WHEN $4::integer IS NULL OR $4::integer = stage THEN stage_started_at ELSE $6 END,
             updated_by = $7, updated_at = $6,
             ended_at = CASE WHEN $8 THEN $6 ELSE ended_at END
           WHERE deployment_id = $1 AND state = ANY($2::text[])
           RETURNING *`,
          [
            change.deploymentId,
            change.from,
            change.state ?? null,
            change.stage ?? null,
            change.candidatePercent ?? null,
            change.now,
            change.actor,
            ends,
          ],
        );
        if (!rows[0]) return null;
        const deployment = toDeployment(rows[0]);
        await record(tx, deployment, change);
        return deployment;
      });
    },
  };
}
