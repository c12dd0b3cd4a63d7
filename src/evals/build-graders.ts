import { KeelError } from "../errors/index.ts";
import type { EvalCase } from "./eval-case.ts";
import { boundsGrader, governanceGrader, statusGrader } from "./governance-graders.ts";
import type { Grader } from "./grader.ts";
import { outputGraders } from "./output-graders.ts";
import { nodePathGraders, trajectoryGraders } from "./trajectory-graders.ts";

/** Judges and custom graders available to a dataset, by the names cases refer to them with. */
export type GraderRegistry = {
  judges?: ReadonlyMap<string, Grader>;
  custom?: ReadonlyMap<string, Grader>;
};

/** The graders a case's expectations ask for, in a stable order; a name nobody registered is an error. */
export function buildGraders(evalCase: EvalCase, registry: GraderRegistry = {}): Grader[] {
  const expect = evalCase.expect;
  const graders: Grader[] = [];
  if (expect.status) graders.push(statusGrader(expect.status));
  if (expect.output) graders.push(...outputGraders(expect.output));
  if (expect.tools) graders.push(...trajectoryGraders(expect.tools));
  if (expect.nodes) graders.push(...nodePathGraders(expect.nodes));
  if (expect.governance) graders.push(governanceGrader(expect.governance));
  if (expect.bounds) graders.push(boundsGrader(expect.bounds));
  for (const name of expect.judge ?? []) graders.push(lookup(registry.judges, name, "judge", evalCase.id));
  for (const name of expect.custom ?? [])
    graders.push(lookup(registry.custom, name, "custom grader", evalCase.id));
  return graders;
}

function lookup(
  graders: ReadonlyMap<string, Grader> | undefined,
  name: string,
  what: string,
  caseId: string,
): Grader {
  const grader = graders?.get(name);
  if (!grader)
    throw new KeelError(
      "invalid_spec",
      `case ${caseId} asks for ${what} "${name}", which is not defined (defined: ${[...(graders?.keys() ?? [])].join(", ") || "none"})`,
    );
  return grader;
}
