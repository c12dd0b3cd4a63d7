import { readFile, writeFile } from "node:fs/promises";
import { KeelError } from "../errors/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { GenerateOptions, ModelProvider, ModelTurn } from "../models/index.ts";

/** `record` calls the model and keeps each turn; `replay` answers only from the recording; `auto` does both. */
export type RecordingMode = "record" | "replay" | "auto";

/** One recorded model turn and the full request it answered (to notice when prompts have drifted). */
type RecordedTurn = { turn: ModelTurn; requestHash: string; provider: string; model: string };

type Recording = { format: "keel-model-recording/v1"; turns: Record<string, RecordedTurn> };

/** A model provider that records and replays turns, and can write its recording back to disk. */
export type RecordReplayModelProvider = ModelProvider & {
  /** Write the recording (a no-op in replay mode or when nothing new was recorded). */
  save(): Promise<void>;
  readonly stats: { replayed: number; recorded: number; drifted: number };
};

/**
 * Record-and-replay around any model provider (a gateway-routed one in practice), so CI evals are
 * deterministic and free. A turn is keyed by the system prompt, the tools, the parameters, the conversation's
 * first user message and how many turns came before — not by tool results, whose ids and timestamps differ
 * between runs. Each recorded turn also keeps a hash of the whole request: a replay whose request differs
 * counts as `drifted` (the prompt or a tool result changed since the recording) but still answers.
 */
export async function createRecordReplayModelProvider(options: {
  inner: ModelProvider | null;
  file: string;
  mode: RecordingMode;
}): Promise<RecordReplayModelProvider> {
  const { inner, file, mode } = options;
  const recording = await readRecording(file);
  const stats = { replayed: 0, recorded: 0, drifted: 0 };
  if (mode !== "replay" && !inner)
    throw new KeelError("invalid_request", `recording mode ${mode} needs a model to call`);
  return {
    provider: inner?.provider ?? "replay",
    model: inner?.model ?? "replay",
    // A replay calls no model: it is as offline as the stand-ins, and says so.
    offline: mode === "replay" ? true : (inner?.offline ?? true),
    stats,
    async generate(request: GenerateOptions): Promise<ModelTurn> {
      const key = turnKey(request);
      const requestHash = hashPayload(requestShape(request));
      const found = recording.turns[key];
      if (found && mode !== "record") {
        stats.replayed += 1;
        if (found.requestHash !== requestHash) stats.drifted += 1;
        return structuredClone(found.turn);
      }
      if (mode === "replay" || !inner) {
        throw new KeelError(
          "model_failed",
          `no recorded model turn for this request in ${file} (record it with --record)`,
        );
      }
      const turn = await inner.generate(request);
      recording.turns[key] = {
        turn: structuredClone(turn),
        requestHash,
        provider: inner.provider,
        model: inner.model,
      };
      stats.recorded += 1;
      return turn;
    },
    async save() {
      if (mode === "replay" || stats.recorded === 0) return;
      const sorted = Object.fromEntries(
        Object.entries(recording.turns).sort(([a], [b]) => a.localeCompare(b)),
      );
      await writeFile(file, `${JSON.stringify({ ...recording, turns: sorted }, null, 1)}\n`);
    },
  };
}

function turnKey(request: GenerateOptions): string {
  const firstUser = request.messages.find((message) => message.role === "user");
  return hashPayload({
    system: request.system,
    tools: request.tools.map((tool) => ({ name: tool.name, inputSchema: tool.inputSchema })),
    params: request.params,
    input: firstUser?.content ?? "",
    turn: request.messages.filter((message) => message.role === "assistant").length,
  });
}

function requestShape(request: GenerateOptions): unknown {
  return {
    system: request.system,
    messages: request.messages,
    tools: request.tools.map((tool) => ({ name: tool.name, inputSchema: tool.inputSchema })),
    params: request.params,
  };
}

async function readRecording(file: string): Promise<Recording> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (text === null) return { format: "keel-model-recording/v1", turns: {} };
  const parsed = JSON.parse(text) as Recording;
  if (parsed.format !== "keel-model-recording/v1")
    throw new KeelError("invalid_request", `${file} is not a Keel model recording`);
  return parsed;
}
