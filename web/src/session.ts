import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Answer } from "./api.ts";

/** Who the console acts as: the answer of `GET /v1/me`. */
export type Me = Answer<"whoAmI">;

export const MeContext = createContext<Me | null>(null);

/** The signed-in caller (the console renders views only once it is known). */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside the signed-in console");
  return me;
}

/**
 * What the caller may do, as the API's route roles say (docs/api.md): the console hides what a key may not do; the
 * API refuses it anyway.
 */
export function may(me: Me, action: "decide" | "kill" | "invoke" | "deploy" | "cancel"): boolean {
  const roles = new Set(me.roles);
  if (roles.has("admin")) return true;
  switch (action) {
    case "decide":
      return roles.has("approver");
    case "kill":
    case "cancel":
      return roles.has("operator");
    case "invoke":
      return roles.has("invoker");
    case "deploy":
      return roles.has("deployer");
  }
}
