import type { Hono } from "hono";
import { z } from "zod";
import { KeelError } from "../errors/keel-error.ts";
import { latestGateResult, sqlEvalResultStore } from "../evals/eval-result-store.ts";
import { type EvaluationEvent, sqlEvaluationLog } from "../evals/evaluation-log.ts";
import { caseFromFeedback, caseFromRun } from "../evals/import-cases.ts";
import type { Store } from "../store/store.ts";
import { parseBody } from "./parse-body.ts";
import { principalOf } from "./request-principal.ts";

const FeedbackBody = z.strictObject({
  rating: z.enum(["up", "down"]),
  comment: z.string().trim().min(1).max(4_000).optional(),
});

const ScoresQuery = z.strictObject({
  type: z.enum(["evaluation", "feedback"]).default("evaluation"),
  bucket: z.enum(["day", "hour"]).default("day"),
  since: z.iso.datetime().optional(),
});

const PromoteBody = z.strictObject({ expected: z.string().trim().min(1).max(4_000).optional() });

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

  app.post("/v1/runs/:id/feedback", async (context) => {
    const run = await runOf(context.req.param("id"), principalOf(context).tenant);
    const body = await parseBody(context, FeedbackBody);
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

  app.get("/v1/runs/:id/scores", async (context) => {
    const run = await runOf(context.req.param("id"), principalOf(context).tenant);
    return context.json({ runId: run.runId, events: await log.forRun(run.runId) });
  });

  app.post("/v1/feedback/:id/promote", async (context) => {
    const id = Number(context.req.param("id"));
    const [feedback] =
      Number.isInteger(id) && id > 0 ? await log.list({ afterId: id - 1, limit: 1, type: "feedback" }) : [];
    if (!feedback || feedback.eventId !== id)
      throw new KeelError("not_found", `no feedback ${context.req.param("id")}`);
    const body = await parseBody(context, PromoteBody);
    const evalCase = await caseFromFeedback({
      store,
      feedback: feedback as EvaluationEvent<"feedback">,
      ...(body.expected === undefined ? {} : { expected: body.expected }),
    });
    return context.json({ case: evalCase });
  });

  app.get("/v1/runs/:id/eval-case", async (context) => {
    const run = await runOf(context.req.param("id"), principalOf(context).tenant);
    return context.json({ case: await caseFromRun({ store, runId: run.runId }) });
  });

  app.get("/v1/agents/:name/scores", async (context) => {
    const query = ScoresQuery.safeParse(context.req.query());
    if (!query.success) {
      const issues = query.error.issues.map((issue) => ({
        path: issue.path.join("."),
        message: issue.message,
      }));
      throw new KeelError(
        "invalid_request",
        `invalid query: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
        { issues },
      );
    }
    const series = await log.scoreSeries({
      agent: context.req.param("name"),
      type: query.data.type,
      bucket: query.data.bucket,
      ...(query.data.since ? { since: new Date(query.data.since) } : {}),
    });
    return context.json({
      agent: context.req.param("name"),
      type: query.data.type,
      bucket: query.data.bucket,
      series,
    });
  });

  app.get("/v1/agents/:name/versions/:version/eval-gate", async (context) => {
    const gate = await latestGateResult({
      results,
      agent: context.req.param("name"),
      version: context.req.param("version"),
    });
    if (!gate)
      throw new KeelError(
        "not_found",
        `no gated eval run of ${context.req.param("name")}@${context.req.param("version")}`,
      );
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
