import { EvalsSection } from "../spec/index.ts";

export { CalibrationBar, EvalsSection } from "../spec/index.ts";

/** Parse a spec's `evals` section (validated already by the spec loader); an absent section gives the defaults. */
export function parseEvalsSection(section: unknown): EvalsSection {
  return EvalsSection.parse(section ?? {});
}
