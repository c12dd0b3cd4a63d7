import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_DETECTOR, type Detector, detectEntities, detectInjection } from "../guards/index.ts";
import { redactionPolicyOf } from "../runtime/index.ts";
import type { CliIo } from "./cli-io.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

export const GUARD_USAGE = `  guard check [--json] [--detector rules|combined]
                                   read JSON Lines {"text": …, "source": "input" | "tool-result"} from stdin and
                                   write, per line, the injection score and verdict and the entity types found,
                                   with the runtime's default settings (the rules with the learned model;
                                   --detector rules uses the rules alone, as guards.injection.builtIn: rules
                                   does); --json writes one JSON object a line`;

/** One line of input. */
const GuardInput = z.object({ text: z.string(), source: z.enum(["input", "tool-result"]) });

/** What `keel guard check --json` writes for one input line. */
export type GuardCheckResult = {
  injection: { score: number; flagged: boolean };
  entities: Array<{ type: string }>;
};

/**
 * The guards' verdict on one text with the settings a run gets when its spec says nothing: the injection
 * detector's default (the rules with the learned model at its fitted threshold, unless `detector` says otherwise) for the text's
 * source, and the entity classes the runtime masks in a run's output by default.
 */
export function checkText(
  text: string,
  source: "input" | "tool-result",
  detector: Detector = DEFAULT_DETECTOR,
): GuardCheckResult {
  const verdict = detectInjection(text, { source, detector });
  const classes = redactionPolicyOf({ runId: "", guards: undefined }).output;
  return {
    injection: { score: verdict.score, flagged: verdict.detected },
    entities: detectEntities(text, classes).map((finding) => ({ type: finding.type })),
  };
}

/**
 * `keel guard check [--json]`: one result per input line, in order. A line that is not valid JSON or lacks
 * `text` or `source` is reported on stderr with its line number and gets no output line; the other lines are
 * still checked (one bad line should not hide the verdicts on the rest), and the command exits 1. Blank lines are
 * skipped.
 */
export async function guardCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: {
        json: { type: "boolean" },
        detector: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.out(`usage:\n${GUARD_USAGE}`);
      return 0;
    }
    const [, sub, ...extra] = positionals;
    if (sub !== "check") throw usageError("keel guard check [--json]", GUARD_USAGE);
    if (extra.length > 0) throw usageError(`unexpected arguments: ${extra.join(" ")}`, GUARD_USAGE);
    const detector = values.detector ?? DEFAULT_DETECTOR;
    if (detector !== "rules" && detector !== "combined")
      throw usageError(`--detector must be rules or combined, not ${detector}`, GUARD_USAGE);
    const lines = createInterface({ input: io.stdin ?? process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    let bad = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === "") continue;
      const input = parseLine(line);
      if (typeof input === "string") {
        io.err(`keel guard check: line ${lineNumber}: ${input}`);
        bad += 1;
        continue;
      }
      const result = checkText(input.text, input.source, detector);
      io.out(values.json ? JSON.stringify(result) : describe(lineNumber, result));
    }
    if (bad > 0) io.err(`keel guard check: ${bad} of ${lineNumber} lines could not be read`);
    return bad > 0 ? 1 : 0;
  } catch (error) {
    return reportCliError(error, io, GUARD_USAGE);
  }
}

/** The line's input, or what is wrong with it. */
function parseLine(line: string): z.output<typeof GuardInput> | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  const parsed = GuardInput.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.join(".") || "line"}: ${issue.message}`;
}

function describe(lineNumber: number, result: GuardCheckResult): string {
  const entities = result.entities.map((entity) => entity.type).join(", ") || "none";
  const verdict = result.injection.flagged ? "flagged" : "not flagged";
  return `line ${lineNumber}: injection ${result.injection.score.toFixed(3)} (${verdict}); entities: ${entities}`;
}
