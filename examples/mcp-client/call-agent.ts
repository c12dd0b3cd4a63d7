/**
 * Call a Keel agent as an MCP tool with the official MCP client, as Claude Desktop or an IDE would:
 *
 *   npx node examples/mcp-client/call-agent.ts support-triage "I was charged twice for order 1042"
 *
 * KEEL_URL (default http://127.0.0.1:7420) is the server; KEEL_API_KEY, when the server uses keys, a key with the
 * invoker role. Without an agent name it lists the tools the key may call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [agent, ...words] = process.argv.slice(2);
const base = process.env.KEEL_URL ?? "http://127.0.0.1:7420";
const key = process.env.KEEL_API_KEY;

const client = new Client({ name: "keel-example", version: "1.0.0" });
await client.connect(
  new StreamableHTTPClientTransport(new URL("/mcp", base), {
    requestInit: { headers: key ? { authorization: `Bearer ${key}` } : {} },
  }),
);
try {
  if (!agent) {
    for (const tool of (await client.listTools()).tools) console.log(`${tool.name}: ${tool.description}`);
  } else {
    const result = await client.callTool({ name: agent, arguments: { input: words.join(" ") } });
    for (const part of result.content as { type: string; text?: string }[])
      if (part.type === "text") console.log(part.text);
    console.log(JSON.stringify(result.structuredContent, null, 2));
    process.exitCode = result.isError ? 1 : 0;
  }
} finally {
  await client.close();
}
