import { KeelError } from "../errors/index.ts";
import { SpecError } from "../spec/index.ts";
import type { CliIo } from "./cli-io.ts";

/** A usage error: the message, then the command's usage; `keel` exits 2 for it. */
export function usageError(message: string, usage: string): KeelError {
  return new KeelError("invalid_request", `${message}\n\nusage:\n${usage}`);
}

/**
 * Print an error the way every `keel` command does and return its exit code: 2 for bad usage (with the usage
 * text when a flag could not be parsed), 1 for anything else. Spec errors print as they are (file:line:column).
 */
export function reportCliError(error: unknown, io: CliIo, usage?: string): number {
  if (error instanceof TypeError && String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
    io.err(`keel: ${error.message}${usage ? `\n\nusage:\n${usage}` : ""}`);
    return 2;
  }
  if (error instanceof SpecError) {
    io.err(error.message);
    return 1;
  }
  if (error instanceof KeelError) {
    io.err(`keel: ${error.message}`);
    for (const issue of error.issues) {
      if (!error.message.includes(issue.message)) io.err(`  ${issue.path}: ${issue.message}`);
    }
    return error.code === "invalid_request" ? 2 : 1;
  }
  io.err(
    `keel: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return 1;
}
