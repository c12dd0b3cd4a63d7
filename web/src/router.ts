import { useEffect, useState } from "preact/hooks";

/** Where the console is: the hash path's segments (`#/runs/run_1` → ["runs", "run_1"]) and its query. */
export type Location = { segments: string[]; query: URLSearchParams };

function current(): Location {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", search = ""] = hash.split("?", 2);
  return {
    segments: path
      .split("/")
      .filter((segment) => segment !== "")
      .map((segment) => decodeURIComponent(segment)),
    query: new URLSearchParams(search),
  };
}

/** The console's location, updated on every navigation (links are `#/…`, so the server serves one page). */
export function useLocation(): Location {
  const [where, setWhere] = useState(() => ({ hash: location.hash, at: current() }));
  useEffect(() => {
    const update = () =>
      setWhere((was) => (was.hash === location.hash ? was : { hash: location.hash, at: current() }));
    addEventListener("hashchange", update);
    // A navigation between the first render and this effect fired its event before anyone listened: the page
    // would go on showing the location it rendered (signed in on a run's page, then sent to the list).
    update();
    return () => removeEventListener("hashchange", update);
  }, []);
  return where.at;
}

/** A link target: `href("runs", runId)` → `#/runs/run_1`; with fields, their query. */
export function href(...parts: (string | Record<string, string | number | undefined>)[]): string {
  const segments = parts.filter((part): part is string => typeof part === "string");
  const fields = parts.find(
    (part): part is Record<string, string | number | undefined> => typeof part === "object",
  );
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(fields ?? {})) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return `#/${segments.map(encodeURIComponent).join("/")}${text === "" ? "" : `?${text}`}`;
}

/** Go to a console location, as a link would. */
export function navigate(target: string): void {
  location.hash = target.replace(/^#/, "");
}
