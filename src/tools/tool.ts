import type { z } from "zod";

/** What a tool receives besides its arguments. */
export type ToolContext = {
  runId: string;
  callId: string;
  /** Stable across the retry of an interrupted call: a side-effecting tool must apply it at most once per key. */
  idempotencyKey: string;
  /** Aborted on timeout, cancel or kill. */
  signal: AbortSignal;
};

/** The port every tool implements. Arguments are validated against `input` before `execute` runs. */
export interface Tool<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly output?: z.ZodType<Output>;
  /** True when the tool changes the world (writes rows, sends mail): such calls get idempotency keys and are retried at most once. */
  readonly sideEffect: boolean;
  /** Overrides the agent's `limits.toolTimeout`. */
  readonly timeoutMs?: number;
  execute(input: Input, context: ToolContext): Promise<Output>;
}

/** Define a function tool with zod schemas; the types of `execute` follow from them. */
export function defineTool<InputSchema extends z.ZodType, OutputSchema extends z.ZodType>(definition: {
  name: string;
  description: string;
  input: InputSchema;
  output?: OutputSchema;
  sideEffect?: boolean;
  timeoutMs?: number;
  execute(input: z.output<InputSchema>, context: ToolContext): Promise<z.input<OutputSchema>>;
}): Tool<z.output<InputSchema>, z.output<OutputSchema>> {
  type Defined = Tool<z.output<InputSchema>, z.output<OutputSchema>>;
  return {
    name: definition.name,
    description: definition.description,
    input: definition.input as unknown as Defined["input"],
    ...(definition.output ? { output: definition.output as unknown as NonNullable<Defined["output"]> } : {}),
    sideEffect: definition.sideEffect ?? false,
    ...(definition.timeoutMs === undefined ? {} : { timeoutMs: definition.timeoutMs }),
    execute: definition.execute as Defined["execute"],
  };
}
