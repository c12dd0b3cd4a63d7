import { z } from "zod";

/** A JSON Schema written inline, or the path (relative to the spec) of a .json or .yaml file holding one. */
export const JsonSchemaSource = z
  .union([
    z.string().min(1).describe("Path of a JSON Schema file, relative to the spec."),
    z.record(z.string(), z.unknown()).describe("An inline JSON Schema."),
  ])
  .describe("A JSON Schema, inline or as the path (relative to the spec) of a .json or .yaml file.");
