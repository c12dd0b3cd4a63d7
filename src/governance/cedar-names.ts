import type { EntityRef } from "./policy-engine.ts";

/** The Cedar namespace every Keel entity and action lives in. */
export const NAMESPACE = "Keel";

/** Entity types of the Keel Cedar model. */
export const ENTITY = {
  agent: `${NAMESPACE}::Agent`,
  user: `${NAMESPACE}::User`,
  role: `${NAMESPACE}::Role`,
  tenant: `${NAMESPACE}::Tenant`,
  tool: `${NAMESPACE}::Tool`,
  model: `${NAMESPACE}::Model`,
  target: `${NAMESPACE}::Target`,
  action: `${NAMESPACE}::Action`,
} as const;

/** The action group every tool action belongs to: `action in Keel::Action::"call_tool"`. */
export const CALL_TOOL = "call_tool";
export const CALL_MODEL = "call_model";
export const HANDOFF = "handoff";
export const SEND_MESSAGE = "send_message";
/** Handing work to another agent: `Keel::Action::"delegate"` on the resource `Keel::Agent::"<name>"`. */
export const DELEGATE = "delegate";

/** The action id of calling one tool: `Keel::Action::"tool:issue_refund"`. */
export function toolActionId(tool: string): string {
  return `tool:${tool}`;
}

export function ref(type: string, id: string): EntityRef {
  return { type, id };
}

/** A Cedar string literal. */
export function cedarString(text: string): string {
  return JSON.stringify(text);
}

/** `Keel::Action::"tool:issue_refund"` as Cedar text. */
export function actionText(id: string): string {
  return `${ENTITY.action}::${cedarString(id)}`;
}

export function entityText(type: string, id: string): string {
  return `${type}::${cedarString(id)}`;
}
