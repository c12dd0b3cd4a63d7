import { type Message, type Part, type Task, TaskState } from "@a2a-js/sdk";

/**
 * What a call to a remote agent returns to the model and the journal: its answer once its task completed, or
 * that the task waits for a person (an A2A task that is input- or auth-required has not finished, and the result
 * never says it has).
 */
export type RemoteAgentResult =
  | {
      status: "completed";
      agent: string;
      taskId?: string;
      answer: string;
      data?: unknown[];
      files?: { name: string; mediaType: string; url?: string }[];
    }
  | {
      status: "input-required" | "auth-required";
      finished: false;
      agent: string;
      taskId: string;
      message: string;
    };

/** A task that stops moving on its own: it ended, or it waits for someone. */
export function taskSettled(task: Task): boolean {
  const state = task.status?.state;
  return (
    state !== undefined &&
    state !== TaskState.TASK_STATE_SUBMITTED &&
    state !== TaskState.TASK_STATE_WORKING &&
    state !== TaskState.TASK_STATE_UNSPECIFIED
  );
}

/** A direct reply (no task): the remote agent answered at once. */
export function messageResult(agent: string, message: Message): RemoteAgentResult {
  return { status: "completed", agent, ...contentOf(message.parts) };
}

/**
 * The result of a settled task: completed → its answer (artifacts first, else the status message); waiting for a
 * person → a waiting result with the task id; failed, rejected or cancelled → thrown, the call's error.
 */
export function taskResult(agent: string, task: Task): RemoteAgentResult {
  const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  const said = textOf(task.status?.message?.parts ?? []);
  switch (state) {
    case TaskState.TASK_STATE_COMPLETED: {
      const parts = task.artifacts.flatMap((artifact) => artifact.parts);
      const content = contentOf(parts.length > 0 ? parts : (task.status?.message?.parts ?? []));
      return { status: "completed", agent, taskId: task.id, ...content };
    }
    case TaskState.TASK_STATE_INPUT_REQUIRED:
    case TaskState.TASK_STATE_AUTH_REQUIRED: {
      const status = state === TaskState.TASK_STATE_INPUT_REQUIRED ? "input-required" : "auth-required";
      return {
        status,
        finished: false,
        agent,
        taskId: task.id,
        message: `${agent} has not finished: its task ${task.id} is ${status} and waits for a person${said ? ` (${said})` : ""}. Nothing it would answer is known yet.`,
      };
    }
    case TaskState.TASK_STATE_FAILED:
      throw new Error(`${agent} failed its task ${task.id}${said ? `: ${said}` : ""}`);
    case TaskState.TASK_STATE_REJECTED:
      throw new Error(`${agent} rejected the task ${task.id}${said ? `: ${said}` : ""}`);
    case TaskState.TASK_STATE_CANCELED:
      throw new Error(`${agent}'s task ${task.id} was cancelled${said ? `: ${said}` : ""}`);
    default:
      throw new Error(`${agent}'s task ${task.id} is in a state Keel does not know (${stateName(state)})`);
  }
}

function textOf(parts: readonly Part[]): string {
  return parts
    .flatMap((part) => (part.content?.$case === "text" ? [part.content.value] : []))
    .join("\n")
    .trim();
}

/** Text parts joined as the answer, data parts carried as JSON, files named (their bytes stay out of the journal). */
function contentOf(
  parts: readonly Part[],
): Pick<Extract<RemoteAgentResult, { status: "completed" }>, "answer" | "data" | "files"> {
  const data: unknown[] = [];
  const files: { name: string; mediaType: string; url?: string }[] = [];
  for (const part of parts) {
    const content = part.content;
    if (content?.$case === "data") data.push(content.value ?? null);
    else if (content?.$case === "url")
      files.push({ name: part.filename, mediaType: part.mediaType, url: content.value });
    else if (content?.$case === "raw") files.push({ name: part.filename, mediaType: part.mediaType });
  }
  return {
    answer: textOf(parts),
    ...(data.length > 0 ? { data } : {}),
    ...(files.length > 0 ? { files } : {}),
  };
}

/** A task state as A2A's JSON names it in lowercase words: `input-required`, `canceled`… */
export function stateName(state: TaskState | undefined): string {
  if (state === undefined) return "unknown";
  const name = TaskState[state];
  return name
    ? name
        .replace(/^TASK_STATE_/, "")
        .toLowerCase()
        .replaceAll("_", "-")
    : `state ${state}`;
}
