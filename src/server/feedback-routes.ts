import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import {
  caseFromFeedback,
  caseFromRun,
  type EvaluationEvent,
  latestGateResult,
  sqlEvalResultStore,
  sqlEvaluationLog,
} from "../evals/index.ts";
import type { Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * Feedback and evaluation results over HTTP: a thumbs up or down with a comment on a run (stored as a score in
 * `keel_evaluation_events`), the scores a run has, turning rated or escalated runs into eval cases, and the
 * latest gate verdict of an agent version (what the lifecycle gate reads).
 */
export function registerFeedbackRoutes(app: Hono, options: { store: Store }): void {
  const { store } = options;
  const log = sqlEvaluationLog(store.sql);
  const results = sqlEvalResultStore(store.sql);
  // The authorization gate already answered 404 for another tenant's run; checked again where the run is read.
  const runOf = async (runId: string, tenant: string) => {
    const run = await store.getRun(runId);
    if (!run || run.tenant !== tenant) throw new KeelError("not_found", `run ${runId} does not exist`);
    return run;
  };

  registerRoute(app, API_ROUTES.rateRun, async ({ params, body }, context) => {
    const run = await runOf(params.id, principalOf(context).tenant);
    const event = await log.record({
      type: "feedback",
      runId: run.runId,
      agent: run.agent,
      version: run.agentVersion,
      payload: {
        rating: body.rating,
        score: body.rating === "up" ? 1 : 0,
        by: principalOf(context).subject,
        ...(body.comment === undefined ? {} : { comment: body.comment }),
      },
    });
    return context.json(presentFeedback(event as EvaluationEvent<"feedback">), 201);
  });

  registerRoute(app, API_ROUTES.runScores, async ({ params }, context) => {
    const run = await runOf(params.id, principalOf(context).tenant);
    return context.json({ runId: run.runId, events: await log.forRun(run.runId) });
  });

  registerRoute(app, API_ROUTES.promoteFeedback, async ({ params, body }, context) => {
    const id = Number(params.id);
    const [feedback] =
      Number.isInteger(id) && id > 0 ? await log.list({ afterId: id - 1, limit: 1, type: "feedback" }) : [];
    if (!feedback || feedback.eventId !== id) throw new KeelError("not_found", `no feedback ${params.id}`);
    const evalCase = await caseFromFeedback({
      store,
      feedback: feedback as EvaluationEvent<"feedback">,
      ...(body.expected === undefined ? {} : { expected: body.expected }),
    });
    return context.json({ case: evalCase });
  });

  registerRoute(app, API_ROUTES.runEvalCase, async ({ params }, context) => {
    const run = await runOf(params.id, principalOf(context).tenant);
    return context.json({ case: await caseFromRun({ store, runId: run.runId }) });
  });

  registerRoute(app, API_ROUTES.agentScores, async ({ params, query }, context) => {
    const series = await log.scoreSeries({
      agent: params.name,
      type: query.type,
      bucket: query.bucket,
      ...(query.since ? { since: query.since } : {}),
    });
    return context.json({ agent: params.name, type: query.type, bucket: query.bucket, series });
  });

  registerRoute(app, API_ROUTES.evalGate, async ({ params }, context) => {
    const gate = await latestGateResult({ results, agent: params.name, version: params.version });
    if (!gate) throw new KeelError("not_found", `no gated eval run of ${params.name}@${params.version}`);
    return context.json(gate);
  });
}

function presentFeedback(event: EvaluationEvent<"feedback">) {
  return {
    id: event.eventId,
    runId: event.runId,
    agent: event.agent,
    version: event.version,
    rating: event.payload.rating,
    score: event.payload.score,
    ...(event.payload.comment === undefined ? {} : { comment: event.payload.comment }),
    by: event.payload.by,
    at: event.at,
  };
}
