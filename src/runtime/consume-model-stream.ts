import type { GatewayResult, GatewayStreamPart, ModelStreamPart, ModelTurn } from "../models/index.ts";

/** The gateway's stream consumed: each text delta handed on as it comes, the served result at the end. */
export async function servedFromStream(
  parts: AsyncIterable<GatewayStreamPart>,
  onText: (text: string) => void,
): Promise<GatewayResult> {
  for await (const part of parts) {
    if (part.type === "text-delta") onText(part.text);
    else if (part.type === "result") return part.result;
  }
  throw new Error("the model gateway's stream ended without a result");
}

/** An offline stand-in's stream consumed: each text delta handed on as it comes, the finished turn at the end. */
export async function turnFromStream(
  parts: AsyncIterable<ModelStreamPart>,
  onText: (text: string) => void,
): Promise<ModelTurn> {
  for await (const part of parts) {
    if (part.type === "text-delta") onText(part.text);
    else if (part.type === "finish") return part.turn;
  }
  throw new Error("the model's stream ended before it finished the turn");
}
