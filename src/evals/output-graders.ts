import { Ajv, type ValidateFunction } from "ajv";
import type { OutputExpectation } from "./eval-case.ts";
import { type Grade, type Grader, verdict } from "./grader.ts";

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

/** The answer must equal the expected text once both are trimmed. */
export function exactGrader(expected: string): Grader {
  return deterministic("output.exact", (answer) =>
    answer.trim() === expected.trim()
      ? [true, "the answer matches exactly"]
      : [false, `expected exactly ${quote(expected)}, got ${quote(answer)}`],
  );
}

/** Every expected string appears in the answer, ignoring case. */
export function containsGrader(expected: string | readonly string[]): Grader {
  const needles = typeof expected === "string" ? [expected] : expected;
  return deterministic("output.contains", (answer) => {
    const lower = answer.toLowerCase();
    const missing = needles.filter((needle) => !lower.includes(needle.toLowerCase()));
    return missing.length === 0
      ? [true, `the answer contains ${needles.map(quote).join(", ")}`]
      : [false, `the answer lacks ${missing.map(quote).join(", ")}: ${quote(answer)}`];
  });
}

/** No forbidden string appears in the answer, ignoring case. */
export function notContainsGrader(forbidden: string | readonly string[]): Grader {
  const needles = typeof forbidden === "string" ? [forbidden] : forbidden;
  return deterministic("output.notContains", (answer) => {
    const lower = answer.toLowerCase();
    const found = needles.filter((needle) => lower.includes(needle.toLowerCase()));
    return found.length === 0
      ? [true, "the answer contains none of the forbidden strings"]
      : [false, `the answer contains ${found.map(quote).join(", ")}`];
  });
}

/** The answer matches a regular expression (case-insensitive). */
export function regexGrader(pattern: string): Grader {
  const expression = new RegExp(pattern, "i");
  return deterministic("output.regex", (answer) =>
    expression.test(answer)
      ? [true, `the answer matches /${pattern}/`]
      : [false, `the answer does not match /${pattern}/: ${quote(answer)}`],
  );
}

/** The answer is JSON that validates against a JSON Schema (draft 2020-12 or 07, via Ajv). */
export function jsonSchemaGrader(schema: Record<string, unknown>): Grader {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  const check = validate;
  return deterministic("output.jsonSchema", (answer) => {
    let data: unknown;
    try {
      data = JSON.parse(answer);
    } catch {
      return [false, `the answer is not JSON: ${quote(answer)}`];
    }
    if (check(data)) return [true, "the answer validates against the schema"];
    return [false, `schema violations: ${ajv.errorsText(check.errors)}`];
  });
}

/** A number in the answer lies within the tolerance of the expected value. */
export function numericGrader(expected: NonNullable<OutputExpectation["number"]>): Grader {
  const pattern = new RegExp(expected.pattern ?? "(-?\\d[\\d,]*(?:\\.\\d+)?)", "i");
  return deterministic("output.number", (answer) => {
    const match = pattern.exec(answer);
    const text = match?.[1] ?? match?.[0];
    if (text === undefined) return [false, `no number in the answer: ${quote(answer)}`];
    const value = Number(text.replaceAll(",", ""));
    const within = Number.isFinite(value) && Math.abs(value - expected.value) <= expected.tolerance;
    return within
      ? [true, `${value} is within ${expected.tolerance} of ${expected.value}`]
      : [false, `${text} is not within ${expected.tolerance} of ${expected.value}`];
  });
}

/** The graders an output expectation asks for, one per key present. */
export function outputGraders(expectation: OutputExpectation): Grader[] {
  const graders: Grader[] = [];
  if (expectation.exact !== undefined) graders.push(exactGrader(expectation.exact));
  if (expectation.contains !== undefined) graders.push(containsGrader(expectation.contains));
  if (expectation.notContains !== undefined) graders.push(notContainsGrader(expectation.notContains));
  if (expectation.regex !== undefined) graders.push(regexGrader(expectation.regex));
  if (expectation.jsonSchema !== undefined) graders.push(jsonSchemaGrader(expectation.jsonSchema));
  if (expectation.number !== undefined) graders.push(numericGrader(expectation.number));
  return graders;
}

function deterministic(name: string, check: (answer: string) => [boolean, string]): Grader {
  return {
    name,
    kind: "deterministic",
    grade({ outcome }): Grade {
      if (outcome.answer === null)
        return verdict(name, "deterministic", false, `the run has no answer (${outcome.status})`);
      const [passed, reason] = check(outcome.answer);
      return verdict(name, "deterministic", passed, reason);
    },
  };
}

function quote(text: string): string {
  const short = text.length > 160 ? `${text.slice(0, 157)}…` : text;
  return JSON.stringify(short);
}
