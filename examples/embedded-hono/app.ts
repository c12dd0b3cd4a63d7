/**
 * Keel embedded in an application of your own: a Hono app with its own routes runs the support-triage agent
 * in-process (same journal, governor and worker as `keel serve`) and mounts Keel's HTTP API under /keel.
 *
 *   npx node examples/embedded-hono/app.ts            # then: curl http://127.0.0.1:7430/keel/v1/agents
 *
 * In your own project, import `createKeel` and `openStore` from "keel" instead of the sources.
 */
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { createKeel, openStore } from "../../src/index.ts";
import { supportTriage } from "../support-triage/index.ts";

/** Start the application: its store (PGlite under `dataDir`, or in memory), Keel on it, and the HTTP server. */
export async function startShopApp(options: {
  port: number;
  dataDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}): Promise<{ url: string; close(): Promise<void> }> {
  const store = await openStore(options.dataDir ? { dataDir: options.dataDir } : {});
  const keel = await createKeel({
    store,
    agents: [supportTriage],
    ...(options.env ? { env: options.env } : {}),
  });

  // The application's own routes, and Keel's API mounted beside them (Hono strips the /keel prefix).
  const app = new Hono();
  app.get("/", (context) => context.text("Larkspur Home: the shop's own application"));
  app.mount("/keel", keel.fetch);

  const server = await new Promise<ServerType>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: options.port }, () =>
      resolve(created),
    );
    created.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await keel.drain({ graceMs: 5_000 });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keel.close();
      await store.close();
    },
  };
}

if (import.meta.main) {
  const app = await startShopApp({ port: Number(process.env.PORT ?? 7430) });
  console.log(`the shop's application is running at ${app.url} (Keel's API under ${app.url}/keel)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await app.close();
}
