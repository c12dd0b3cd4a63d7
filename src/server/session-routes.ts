import type { Context, Hono } from "hono";
import { API_ROUTES, encodeCursor } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import { startRun, type ToolTurnMessages, toolMessagesByTurn, type Worker } from "../runtime/index.ts";
import {
  eraseSubject,
  type SessionQueries,
  type SessionRecord,
  type SessionTurnRecord,
  type Store,
} from "../store/index.ts";
import { presentRun } from "./present-run.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";
import type { RunnableAgent } from "./runnable-agent.ts";

/**
 * Sessions over HTTP: open one with an agent, send it messages (each starts the session's next run), read it with
 * its messages projected from its runs, list and delete them. Each message's run reads the earlier turns as the
 * agent's context policy allows (src/runtime/carry-session-context.ts).
 */
export function registerSessionRoutes(
  app: Hono,
  options: {
    store: Store;
    sessions: SessionQueries;
    /** The version a new run of `name` uses, once it may serve runs; throws `not_found` or `conflict` otherwise. */
    runnableAgent: RunnableAgent;
    worker?: Worker;
  },
): void {
  const { store, sessions, worker } = options;
  // The authorization gate already answered 404 for another tenant's session; checked again where it is read.
  const sessionOf = async (sessionId: string, context: Context) => {
    const session = await sessions.getSession(sessionId);
    if (!session || session.tenant !== principalOf(context).tenant) {
      throw new KeelError("not_found", `no session "${sessionId}"`);
    }
    return session;
  };

  // Erasure answers for the caller's tenant only, and the same way for a subject Keel never saw (zero counts).
  registerRoute(app, API_ROUTES.eraseSubject, async ({ params }, context) => {
    const by = principalOf(context);
    const report = await eraseSubject(store, { tenant: by.tenant, subject: params.subject, by });
    return context.json({
      erased: report.counts,
      record: { runId: report.recordRunId, subjectHash: report.subjectHash },
    });
  });

  registerRoute(app, API_ROUTES.createSession, async ({ params, body }, context) => {
    const { agent } = await options.runnableAgent(params.name);
    if (agent.workflow) {
      throw new KeelError(
        "invalid_request",
        `${agent.name} is a workflow: sessions hold the runs of an agent, whose model reads the earlier turns`,
      );
    }
    const session = await sessions.createSession({
      agent: agent.name,
      principal: principalOf(context),
      ...(body?.subject === undefined ? {} : { subject: body.subject }),
      ...(body?.metadata === undefined ? {} : { metadata: body.metadata }),
    });
    context.header("location", `/v1/sessions/${session.sessionId}`);
    return context.json(presentSession(session), 201);
  });

  registerRoute(app, API_ROUTES.listSessions, async ({ query }, context) => {
    const found = await sessions.listSessions({
      tenant: principalOf(context).tenant,
      limit: query.limit,
      ...(query.agent === undefined ? {} : { agent: query.agent }),
      ...(query.before === undefined ? {} : { before: query.before }),
      ...(query.cursor === undefined ? {} : { startAfter: query.cursor }),
    });
    return context.json({
      sessions: found.sessions.map(presentSession),
      nextCursor: found.next && encodeCursor(found.next),
    });
  });

  registerRoute(app, API_ROUTES.getSession, async ({ params, query }, context) => {
    const session = await sessionOf(params.id, context);
    const turns = await sessions.sessionTurns(session.sessionId);
    // Tool calls and results only when asked for: by default the messages are the user/assistant thread.
    const tools =
      query.tools === "true" || query.tools === "1"
        ? toolMessagesByTurn(await sessions.sessionToolEvents(session.sessionId))
        : null;
    return context.json({
      ...presentSession(session),
      messages: turns.flatMap((turn) => messagesOf(turn, tools?.get(turn.turn) ?? [])),
      runs: turns.map((turn) => ({
        turn: turn.turn,
        runId: turn.runId,
        status: turn.status,
        error: turn.error,
      })),
      workingMemory: await sessions.workingMemoryOf(session.sessionId),
    });
  });

  registerRoute(app, API_ROUTES.sendSessionMessage, async ({ params, body }, context) => {
    const session = await sessionOf(params.id, context);
    const idempotencyKey = idempotencyKeyOf(body.idempotencyKey, context.req.header("idempotency-key"));
    // Under a deployment the session's runs are assigned by its subject (stickiness user) or its id (session).
    const route = await options.runnableAgent(session.agent, {
      principal: principalOf(context),
      subject: session.subject,
      sessionId: session.sessionId,
    });
    const { run, created } = await startRun({
      store,
      agent: route.agent,
      ...(route.rollout ? { rollout: route.rollout } : {}),
      input: body.input,
      principal: principalOf(context),
      session: { sessionId: session.sessionId },
      // Scoped to the session, so the same key in two sessions of one agent starts two runs.
      ...(idempotencyKey === undefined
        ? {}
        : { idempotencyKey: `session:${session.sessionId}:${idempotencyKey}` }),
    });
    const turn = (await store.readEvents({ runId: run.runId, limit: 1 }))[0];
    const numbered = turn?.type === "run-start" ? turn.payload.session : undefined;
    if (numbered?.sessionId !== session.sessionId) {
      throw new KeelError("conflict", "this idempotency key is already used for another message");
    }
    if (created) worker?.poke();
    context.header("location", `/v1/runs/${run.runId}`);
    return context.json(
      { ...presentRun(run), created, runId: run.runId, sessionId: session.sessionId, turn: numbered.turn },
      created ? 202 : 200,
    );
  });

  registerRoute(app, API_ROUTES.deleteSession, async ({ params }, context) => {
    const session = await sessionOf(params.id, context);
    if (!(await sessions.deleteSession(session.sessionId))) {
      throw new KeelError("not_found", `no session "${params.id}"`);
    }
    return context.json({ id: session.sessionId, deleted: true as const });
  });
}

/** The API's JSON view of a session. */
function presentSession(session: SessionRecord) {
  return {
    id: session.sessionId,
    agent: session.agent,
    subject: session.subject,
    metadata: session.metadata,
    turns: session.turns,
    createdAt: session.createdAt.toISOString(),
    links: {
      self: `/v1/sessions/${session.sessionId}`,
      messages: `/v1/sessions/${session.sessionId}/messages`,
    },
  };
}

/** A run's messages in the thread: its input, the tool turns asked for (if any), then its answer once it has one. */
function messagesOf(turn: SessionTurnRecord, tools: ToolTurnMessages) {
  const at = { turn: turn.turn, runId: turn.runId };
  const user = { role: "user" as const, content: turn.input, ...at };
  const middle = tools.map((message) => ({ ...message, ...at }));
  return turn.answer === null
    ? [user, ...middle]
    : [user, ...middle, { role: "assistant" as const, content: turn.answer, ...at }];
}

/** The message's idempotency key, from the body or the `Idempotency-Key` header; both must agree when both are sent. */
function idempotencyKeyOf(field: string | undefined, header: string | undefined): string | undefined {
  const fromHeader = header?.trim();
  if (fromHeader !== undefined && (fromHeader.length < 1 || fromHeader.length > 200)) {
    throw new KeelError("invalid_request", "the Idempotency-Key header must be 1 to 200 characters", {
      issues: [{ path: "Idempotency-Key", message: "expected 1 to 200 characters" }],
    });
  }
  if (field !== undefined && fromHeader !== undefined && field !== fromHeader) {
    throw new KeelError("invalid_request", "idempotencyKey and the Idempotency-Key header differ", {
      issues: [
        { path: "idempotencyKey", message: "must equal the Idempotency-Key header when both are sent" },
      ],
    });
  }
  return field ?? fromHeader;
}
