import type { NodeInput } from "./build-node-call.ts";
import { parseRulesTable } from "./parse-rules-table.ts";
import {
  type BuildContext,
  checkedTemplate,
  checkWrite,
  type FieldPath,
  readJsonSchema,
  readSpecFile,
  report,
} from "./workflow-build-context.ts";
import type { DecideNodeDefinition, DecisionDefinition } from "./workflow-definition.ts";
import type { WorkflowNodeSpec } from "./workflow-spec.ts";
import { schemaType } from "./workflow-state-types.ts";

/** A decide node: its prompt, the labels or schema it asks for, and its offline rules. */
export function buildDecide(context: BuildContext, input: NodeInput): DecideNodeDefinition | undefined {
  const { at, spec, common, writes } = input;
  const decide = spec.decide!;
  const path = [...at, "decide"];
  let prompt: DecideNodeDefinition["prompt"] | undefined;
  if ((decide.prompt === undefined) === (decide.promptFile === undefined)) {
    report(context, path, "a decide needs exactly one of prompt or promptFile");
  } else if (decide.prompt !== undefined) {
    prompt = checkedTemplate(context, decide.prompt, [...path, "prompt"], null);
  } else {
    const read = readSpecFile(context, decide.promptFile!, [...path, "promptFile"], "prompt");
    if (read && read.text.trim() === "")
      report(context, [...path, "promptFile"], `prompt file is empty: ${read.file}`);
    else if (read)
      prompt = checkedTemplate(context, read.text, [...path, "promptFile"], null, `${decide.promptFile}: `);
  }
  const about =
    decide.input === undefined ? undefined : checkedTemplate(context, decide.input, [...path, "input"], null);
  let decision: DecisionDefinition | undefined;
  if ((decide.labels === undefined) === (decide.output === undefined)) {
    report(context, path, "a decide needs exactly one of labels or output");
  } else if (decide.labels !== undefined) {
    decision = labelDecision(context, decide.labels, spec.next, at);
    if (spec.writes !== undefined) checkWrite(context, spec.writes, [...at, "writes"], "string", "a label");
  } else {
    const output = readJsonSchema(context, decide.output!, [...path, "output"]);
    if (output !== undefined)
      decision = { kind: "schema", output, next: typeof spec.next === "string" ? spec.next : "" };
    if (output !== undefined && spec.writes !== undefined) {
      checkWrite(context, spec.writes, [...at, "writes"], schemaType(output), "the decision's output schema");
    }
  }
  const rules =
    decide.rules === undefined ? undefined : readDecideRules(context, decide.rules, decide.labels, path);
  if (prompt === undefined || decision === undefined || rules === null) return undefined;
  return {
    ...common,
    kind: "decide",
    prompt,
    ...(about === undefined ? {} : { input: about }),
    decision,
    retries: decide.retries,
    fallback: decide.fallback,
    ...(rules === undefined ? {} : { rules }),
    ...writes,
  };
}

/** `next` must map every label, and only labels, to a node. */
function labelDecision(
  context: BuildContext,
  labels: string[],
  next: WorkflowNodeSpec["next"],
  at: FieldPath,
): DecisionDefinition | undefined {
  const duplicate = labels.find((label, index) => labels.indexOf(label) !== index);
  if (duplicate !== undefined) {
    report(context, [...at, "decide", "labels"], `label "${duplicate}" is listed twice`);
    return undefined;
  }
  if (next === undefined) return undefined;
  if (typeof next === "string") {
    report(
      context,
      [...at, "next"],
      `a decide with labels maps each label to a node: next: { ${labels[0]}: … }`,
    );
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(next)) {
    if (labels.includes(key)) continue;
    report(context, [...at, "next", key], `"${key}" is not one of the labels (${labels.join(", ")})`, "key");
    ok = false;
  }
  for (const label of labels) {
    if (next[label] !== undefined) continue;
    report(context, [...at, "next"], `label "${label}" has no next node`);
    ok = false;
  }
  return ok
    ? { kind: "labels", labels, next: Object.fromEntries(labels.map((label) => [label, next[label]!])) }
    : undefined;
}

/** The decide's offline rules: every rule answers (a decision calls no tool), with a label when labels are set. */
function readDecideRules(
  context: BuildContext,
  relative: string,
  labels: readonly string[] | undefined,
  path: FieldPath,
): DecideNodeDefinition["rules"] | null {
  const read = readSpecFile(context, relative, [...path, "rules"], "rules table");
  if (read === undefined) return null;
  const parsed = parseRulesTable(read.file, read.text, null);
  context.fileIssues.push(...parsed.issues);
  if (parsed.table === null) return null;
  let ok = true;
  for (const [index, rule] of parsed.table.rules.entries()) {
    if (rule.call !== undefined) {
      report(
        context,
        [...path, "rules"],
        `${relative}: rule "${rule.name}" calls a tool; a decide's rules answer`,
      );
      ok = false;
    } else if (labels) {
      const answer = rule.answer;
      if (typeof answer !== "string") {
        report(
          context,
          [...path, "rules"],
          `${relative}: rule "${rule.name}" answers with a mapping; a decide with labels answers with a label`,
        );
        ok = false;
      } else if (!answer.includes("{{") && !labels.includes(answer)) {
        const message = `${relative}: rules[${index}] (${rule.name}) answers "${answer}", which is not one of the labels (${labels.join(", ")})`;
        report(context, [...path, "rules"], message);
        ok = false;
      }
    }
  }
  return ok ? parsed.table : null;
}
