import type { AgentCard } from "@a2a-js/sdk";
import { detectInjection } from "../guards/index.ts";
import { canonicalJson, hashCanonicalJson } from "../journal/index.ts";

/** The longest tool description a card makes; the rest of a long card is left out. */
const MAX_DESCRIPTION = 4_000;

/**
 * What of a card is pinned: everything the model reads about the remote agent (its description and skills) and
 * where calls go (its interfaces). Its version, icons and signatures may change without a person's say.
 */
function pinnedPart(card: AgentCard) {
  return {
    name: card.name,
    description: card.description,
    interfaces: card.supportedInterfaces.map((each) => ({ url: each.url, binding: each.protocolBinding })),
    skills: card.skills.map((skill) => ({
      id: skill.id,
      name: skill.name,
      description: skill.description,
      tags: skill.tags,
      examples: skill.examples,
    })),
  };
}

/** The hash a card is pinned by: SHA-256 of the canonical JSON of its pinned part. */
export function agentCardHash(card: AgentCard): string {
  return `sha256:${hashCanonicalJson(canonicalJson(pinnedPart(card)))}`;
}

/** Why a card may not be offered to a model without a person's pin, or null: text in it reads as instructions. */
export function agentCardSuspicion(card: AgentCard): string | null {
  const texts = [
    card.description,
    ...card.skills.flatMap((skill) => [skill.name, skill.description, ...skill.examples]),
  ];
  for (const text of texts) {
    if (text.trim() === "") continue;
    // The rules alone: a tool's own description is imperative by nature ("Use this to refund an order"), a genre
    // the learned model was not trained on, and a refused tool is a configuration error, not a held run.
    const verdict = detectInjection(text, { source: "tool-result", detector: "rules" });
    if (verdict.detected)
      return `its card reads as instructions to the model (${verdict.classes.join(", ")}, score ${verdict.score.toFixed(2)})`;
  }
  return null;
}

/** The tool description a card makes: who the remote agent is, and its skills. */
export function agentCardDescription(card: AgentCard): string {
  const skills = card.skills.map(
    (skill) => `${skill.name}${skill.description ? `: ${skill.description}` : ""}`,
  );
  const text = [
    `Ask the remote agent ${card.name} (A2A) and get its answer.`,
    card.description,
    skills.length > 0 ? `Its skills: ${skills.join("; ")}` : "",
    "It sees only the input you send, not this conversation.",
  ]
    .filter((part) => part.trim() !== "")
    .join(" ");
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}
