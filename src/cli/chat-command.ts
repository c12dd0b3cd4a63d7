import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { TERMINAL_STATUSES } from "../journal/index.ts";
import { type ApiClient, connectApiClient } from "./api-client.ts";
import { decideInChat } from "./chat-approval-command.ts";
import type { CliIo } from "./cli-io.ts";
import { followChatRun, type HeldApproval } from "./follow-chat-run.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel chat`, for `keel --help` and usage errors. */
export const CHAT_USAGE = `  chat <agent> [--session ID] [--subject S] [--as S --roles R1,R2]
                                   talk with an agent in a session: answers stream as they are written, tool
                                   calls and held approvals show as they happen; /help lists the chat's commands`;

/** The commands a chat takes besides messages, for `/help`. */
const CHAT_COMMANDS = `commands:
  /approve [id] [comment]   approve a held tool call (the id may be left out when one is held); the run goes on
  /reject [id] <reason>     reject a held tool call, saying why
  /help                     this list
  /quit                     leave (so does the end of input); an answer being written is finished first
  Ctrl-C                    leave at once: the run goes on and can be followed
deciding names you with --as and --roles (or KEEL_SUBJECT, KEEL_ROLES), or with the API key`;

const OPTIONS = {
  url: { type: "string" },
  "api-key-file": { type: "string" },
  session: { type: "string" },
  subject: { type: "string" },
  as: { type: "string" },
  roles: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** `keel chat …`: it parses its own flags. */
export async function chatCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.out(`usage:\n${CHAT_USAGE}\n\n${CHAT_COMMANDS}`);
      return 0;
    }
    const [, agent, ...extra] = positionals;
    if (!agent || extra.length > 0)
      throw usageError(
        agent ? `keel chat takes one agent, not "${extra.join(" ")}"` : "keel chat needs an agent",
        CHAT_USAGE,
      );
    return await chatCommand({
      client: connectApiClient(io, values),
      io,
      agent,
      ...(values.session === undefined ? {} : { sessionId: values.session }),
      ...(values.subject === undefined ? {} : { subject: values.subject }),
      ...(values.as === undefined ? {} : { as: values.as }),
      ...(values.roles === undefined ? {} : { roles: values.roles }),
    });
  } catch (error) {
    return reportCliError(error, io, CHAT_USAGE);
  }
}

/**
 * The chat itself: open (or continue) a session, then send each line read as a message, one turn at a time, and
 * follow each run as it happens. Lines typed while a run is answering wait their turn; commands act at once.
 * Exits 0 at the end of input, 1 when a message was not sent or its run did not complete, 3 when it leaves a run
 * waiting for a person, 130 on Ctrl-C.
 */
export async function chatCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  sessionId?: string;
  subject?: string;
  as?: string;
  roles?: string;
}): Promise<number> {
  const { client, io, agent } = options;
  const write = io.write ?? ((text: string) => io.out(text.replace(/\n$/, "")));
  const described = await client.call("getAgent", { params: { name: agent } });
  let sessionId: string;
  let following: { runId: string; turn: number } | null = null;
  if (options.sessionId === undefined) {
    const session = await client.call("createSession", {
      params: { name: agent },
      ...(options.subject === undefined ? {} : { body: { subject: options.subject } }),
    });
    sessionId = session.id;
    io.out(`session ${sessionId} with ${agent}, about ${session.subject}`);
  } else {
    const session = await client.call("getSession", { params: { id: options.sessionId } });
    if (session.agent !== agent)
      throw new KeelError(
        "invalid_request",
        `session ${session.id} is with ${session.agent}, not ${agent}: keel chat ${session.agent} --session ${session.id}`,
      );
    sessionId = session.id;
    io.out(`session ${sessionId} with ${agent}, about ${session.subject}: ${session.turns} turns so far`);
    const last = session.runs.at(-1);
    if (last && !TERMINAL_STATUSES.has(last.status)) following = { runId: last.runId, turn: last.turn };
  }
  const offline = described.model.offline ? " — offline stand-in, not a real model" : "";
  io.out(`model: ${described.model.provider}/${described.model.id}${offline}`);
  io.out("type a message; /help lists the commands");

  const stdin = io.stdin ?? process.stdin;
  // A prompt only for a person at a terminal; piped input reads the same without one.
  const terminal = (stdin as { isTTY?: boolean }).isTTY === true && io.isTty;
  const reader = createInterface({
    input: stdin,
    terminal,
    prompt: "you> ",
    ...(terminal ? { output: process.stdout } : {}),
  });
  const queue: string[] = [];
  const held = new Map<string, HeldApproval>();
  /** Closes the event stream being read when the chat ends. */
  const leave = new AbortController();
  let interrupted = false;
  let inputEnded = false;
  let sending = false;
  /** Commands still at work (a decision being sent): the chat does not end under them. */
  let commandsAtWork = 0;
  /** Messages not sent and runs that did not complete: a script reading the exit code learns of them. */
  let failures = 0;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const continueWith = `keel chat ${agent} --session ${sessionId}`;
  const idle = () => following === null && !sending;
  const settle = () => {
    if (inputEnded && commandsAtWork > 0) return;
    if (idle() && queue.length === 0) {
      if (inputEnded) finished();
      else if (terminal) reader.prompt();
      // Nobody here will decide any more: leave the run waiting for the person who will.
    } else if (inputEnded && held.size > 0) finished();
  };

  const follow = async (run: { runId: string; turn: number }) => {
    following = run;
    try {
      const followed = await followChatRun({
        client,
        runId: run.runId,
        agent,
        write,
        signal: leave.signal,
        onHeld: (approval) => {
          held.set(approval.id, approval);
          settle();
        },
        onSettled: (approvalId) => held.delete(approvalId),
      });
      if (!leave.signal.aborted && followed.status !== "completed") failures += 1;
    } catch (error) {
      if (!leave.signal.aborted) {
        failures += 1;
        io.err(`keel: lost the run's event stream: ${messageOf(error)}`);
      }
    }
    if (leave.signal.aborted) return;
    following = null;
    held.clear();
    void pump();
  };

  const pump = async (): Promise<void> => {
    if (!idle()) return;
    const input = queue.shift();
    if (input === undefined) return settle();
    sending = true;
    try {
      const sent = await client.call("sendSessionMessage", { params: { id: sessionId }, body: { input } });
      sending = false;
      void follow({ runId: sent.runId, turn: sent.turn });
    } catch (error) {
      sending = false;
      failures += 1;
      if (error instanceof KeelError && error.code === "conflict")
        io.err(
          `keel: not sent — ${error.message}. Wait for it (follow it with keel runs show ${/run_\w+/.exec(error.message)?.[0] ?? "<run>"}), then send the message again`,
        );
      else io.err(`keel: not sent — ${messageOf(error)}`);
      void pump();
    }
  };

  const command = async (line: string): Promise<void> => {
    const [name = "", ...words] = line.slice(1).split(/\s+/).filter(Boolean);
    switch (name) {
      case "help":
        io.out(CHAT_COMMANDS);
        return;
      case "quit":
      case "exit":
        reader.close();
        return;
      case "approve":
      case "reject": {
        commandsAtWork += 1;
        try {
          const settled = await decideInChat({
            client,
            io,
            decision: name,
            words,
            held,
            ...(options.as === undefined ? {} : { as: options.as }),
            ...(options.roles === undefined ? {} : { roles: options.roles }),
          });
          if (settled !== null) held.delete(settled);
        } finally {
          commandsAtWork -= 1;
        }
        settle();
        return;
      }
      default:
        io.err(`keel: no chat command /${name}; /help lists them`);
    }
  };

  reader.on("line", (line) => {
    const text = line.trim();
    if (text.length === 0) {
      if (idle() && terminal) reader.prompt();
      return;
    }
    if (text.startsWith("/")) {
      void command(text).then(() => {
        if (idle() && terminal && !inputEnded) reader.prompt();
      });
      return;
    }
    queue.push(text);
    if (!idle())
      io.out(
        held.size > 0
          ? "  (queued: sent once the held call is decided and its answer ends)"
          : "  (queued: sent once the answer being written ends)",
      );
    void pump();
  });
  reader.on("close", () => {
    inputEnded = true;
    settle();
  });
  const interrupt = () => {
    interrupted = true;
    finished();
  };
  reader.on("SIGINT", interrupt);
  process.once("SIGINT", interrupt);

  if (following) {
    const run = following;
    io.out(`turn ${run.turn} is still being answered (run ${run.runId}); following it`);
    void follow(run);
  } else settle();
  await done;
  process.removeListener("SIGINT", interrupt);
  leave.abort();
  reader.close();

  const active = following as { runId: string; turn: number } | null;
  if (interrupted) {
    write("\n");
    io.out(
      active
        ? `left run ${active.runId} (turn ${active.turn}) going: keel runs show ${active.runId}; continue: ${continueWith}`
        : `continue: ${continueWith}`,
    );
    return 130;
  }
  if (held.size > 0) {
    const ids = [...held.keys()];
    const unsent = queue.length > 0 ? `; ${queue.length} message(s) not sent` : "";
    io.out(
      `run ${active?.runId ?? ""} waits for ${ids.join(", ")}: keel approvals approve ${ids[0]}; continue: ${continueWith}${unsent}`,
    );
    return 3;
  }
  io.out(`continue: ${continueWith}`);
  return failures > 0 ? 1 : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
