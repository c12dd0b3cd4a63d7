import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, apiKey } from "./api.ts";
import { ErrorNote, Loading } from "./components.tsx";
import { href, type Location, useLocation } from "./router.ts";
import { type Me, MeContext } from "./session.ts";
import { AgentsView } from "./views/agents.tsx";
import { ApprovalsView } from "./views/approvals.tsx";
import { CostsView } from "./views/costs.tsx";
import { EvalsView } from "./views/evals.tsx";
import { OverviewView } from "./views/overview.tsx";
import { RunView } from "./views/run.tsx";
import { RunsView } from "./views/runs.tsx";

/** The console's sections, in the order the navigation lists them. */
const SECTIONS = [
  { path: "", label: "Overview" },
  { path: "runs", label: "Runs" },
  { path: "approvals", label: "Approvals" },
  { path: "agents", label: "Agents" },
  { path: "costs", label: "Costs" },
  { path: "evals", label: "Evals" },
] as const;

/**
 * The console: ask the API who the caller is (`GET /v1/me`); without a key the server either acts as the local
 * developer (development mode) or answers 401, and then the console asks for an API key.
 */
export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [needsKey, setNeedsKey] = useState(false);
  const [checking, setChecking] = useState(true);

  const identify = async () => {
    setChecking(true);
    try {
      setMe(await api<"whoAmI">("/v1/me"));
      setNeedsKey(false);
      setFailure(null);
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 401;
      if (refused && apiKey.get()) setFailure(error);
      else if (!refused) setFailure(error as ApiError);
      if (refused) apiKey.clear();
      setNeedsKey(refused);
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    void identify();
  }, []);

  if (checking && !me) return <Loading what="the console" />;
  if (needsKey || !me) {
    return (
      <SignIn
        failure={failure}
        onKey={(key) => {
          apiKey.set(key);
          void identify();
        }}
      />
    );
  }
  return (
    <MeContext.Provider value={me}>
      <Shell
        me={me}
        onSignOut={() => {
          apiKey.clear();
          setMe(null);
          setNeedsKey(true);
          setFailure(null);
        }}
      />
    </MeContext.Provider>
  );
}

function SignIn(props: { failure: ApiError | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <main class="sign-in" id="main">
      <h1>Keel</h1>
      <p>This server needs an API key. The console shows what the key's tenant and roles allow.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim() !== "") props.onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="hint">
          Create one with <code>keel keys create --role viewer</code>. It is kept in this tab only.
        </p>
        <button type="submit">Sign in</button>
      </form>
      {props.failure ? <ErrorNote error={props.failure} /> : null}
    </main>
  );
}

function Shell(props: { me: Me; onSignOut: () => void }) {
  const where = useLocation();
  const section = where.segments[0] ?? "";
  return (
    <div class="shell">
      <button type="button" class="skip-link" onClick={() => document.getElementById("main")?.focus()}>
        Skip to content
      </button>
      <header class="top-bar">
        <a class="brand" href={href()}>
          Keel
        </a>
        <span class="who">
          {props.me.subject} · tenant <strong>{props.me.tenant}</strong> · {props.me.roles.join(", ")}
        </span>
        {props.me.development ? (
          <span class="dev-mode" title="No API keys exist: every request acts as the local developer">
            development mode
          </span>
        ) : (
          <button type="button" class="link-button" onClick={props.onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <nav class="side-nav" aria-label="Main">
        <ul>
          {SECTIONS.map((item) => (
            <li key={item.path}>
              <a href={href(item.path)} aria-current={section === item.path ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        <Route where={where} />
      </main>
    </div>
  );
}

function Route(props: { where: Location }): ComponentChildren {
  const [section = "", id] = props.where.segments;
  switch (section) {
    case "":
      return <OverviewView query={props.where.query} />;
    case "runs":
      return id ? <RunView runId={id} /> : <RunsView query={props.where.query} />;
    case "approvals":
      return <ApprovalsView query={props.where.query} {...(id ? { approvalId: id } : {})} />;
    case "agents":
      return <AgentsView {...(id ? { agent: id } : {})} />;
    case "costs":
      return <CostsView query={props.where.query} />;
    case "evals":
      return <EvalsView query={props.where.query} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            The console has no page <code>{section}</code>. <a href={href()}>Go to the overview</a>.
          </p>
        </section>
      );
  }
}
