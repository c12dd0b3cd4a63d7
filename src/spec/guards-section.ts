import { z } from "zod";

/**
 * What happens when the injection detector finds an attack: `block` stops it (the input is refused, the tool
 * result is withheld from the model), `review` holds the run for a person, `flag` journals the finding and
 * carries on, `off` skips the check.
 */
const InjectionAction = z
  .enum(["block", "review", "flag", "off"])
  .describe(
    "block: refuse it; review: hold the run for a person; flag: journal and carry on; off: no check.",
  );

/** The kinds of sensitive data the redactor knows: personal data, and credentials and keys. */
const RedactionClass = z
  .enum(["pii", "secrets"])
  .describe("pii: personal data (emails, phones, ids, cards, addresses…); secrets: keys, tokens, passwords.");

const RedactionClasses = z.array(RedactionClass).max(2);

/** Prompt-injection and redaction guards on what enters and leaves an agent (docs/security.md). */
export const GuardsSection = z
  .strictObject({
    input: z
      .strictObject({ injection: InjectionAction.default("block") })
      .prefault({})
      .describe("The user's input at the start of a run."),
    toolResults: z
      .strictObject({ injection: InjectionAction.default("review") })
      .prefault({})
      .describe("What tools return (retrieved documents, API replies) before the model reads it."),
    output: z
      .strictObject({
        redact: RedactionClasses.default(["pii", "secrets"]).describe(
          "What is masked in final answers and in tool arguments that leave the system.",
        ),
      })
      .prefault({})
      .describe("Final answers and outbound tool arguments."),
    journal: z
      .strictObject({
        redact: RedactionClasses.default(["secrets"]).describe(
          "What is masked in every payload before it is journaled or exported; the journal keeps the original's hash.",
        ),
      })
      .prefault({})
      .describe("What the run journal, traces and exports may hold."),
  })
  .describe("Prompt-injection and redaction guards on inputs, tool results and outputs (docs/security.md).");

export type GuardsSection = z.output<typeof GuardsSection>;
export type InjectionAction = z.output<typeof InjectionAction>;
export type RedactionClass = z.output<typeof RedactionClass>;
