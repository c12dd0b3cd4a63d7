import type { NewEvent } from "../src/journal/events.ts";
import { canonicalJson } from "../src/journal/hash.ts";

/**
 * The event the append benchmarks write, and whose payload the raw INSERT baseline stores: a `tool-call-end`
 * with a small result, about 300 bytes of JSON, the size of a typical step event.
 */
export function benchEvent(index: number): NewEvent {
  return {
    type: "tool-call-end",
    payload: {
      step: 1 + (index % 1_000),
      callId: `call_${index.toString(36).padStart(8, "0")}`,
      tool: "lookup_order",
      outcome: "ok",
      result: {
        orderId: `ord_${(index * 7919).toString(36).padStart(10, "0")}`,
        status: "shipped",
        carrier: "parcel-post",
        items: [
          { sku: "SKU-1042", quantity: 2 },
          { sku: "SKU-2177", quantity: 1 },
        ],
        note: "Left with the neighbour at number 12; signature on file.",
      },
      durationMs: 3.25,
    },
  };
}

/** The canonical JSON of `benchEvent(index)`'s payload, as the journal stores it. */
export function benchPayloadJson(index: number): string {
  return canonicalJson(benchEvent(index).payload);
}
