import { KeelError } from "../errors/index.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

export const MCP_USAGE = `  mcp tools <agent> [--json]       the agent's MCP tools: approved or refused, and the listing each shows now
  mcp approve <agent> <server>/<tool> --hash H
                                   approve the listing an MCP tool shows now (its seenHash), as a deployer`;

/** `keel mcp tools <agent>`: each MCP tool's pin — approved, or refused and why, with the hash a person reviews. */
export async function mcpToolsCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  json: boolean;
}): Promise<number> {
  const { tools } = await options.client.call("listMcpTools", { params: { name: options.agent } });
  if (options.json) {
    options.io.out(JSON.stringify(tools, null, 2));
    return 0;
  }
  if (tools.length === 0) options.io.out(`${options.agent} uses no MCP tool`);
  for (const tool of tools) {
    options.io.out(`${tool.server}/${tool.tool}  ${tool.status}`);
    if (tool.refusal !== null) {
      options.io.out(`  refused: ${tool.refusal}`);
      options.io.out(`  shows now: ${tool.seenHash} (seen ${tool.seenAt})`);
      options.io.out(`  approved:  ${tool.approvedHash ?? "never"}`);
      options.io.out(
        `  review it (keel mcp tools ${options.agent} --json shows both listings), then: keel mcp approve ${options.agent} ${tool.server}/${tool.tool} --hash ${tool.seenHash}`,
      );
    } else options.io.out(`  approved ${tool.approvedHash} by ${tool.approvedBy} at ${tool.approvedAt}`);
  }
  return 0;
}

/** `keel mcp approve <agent> <server>/<tool> --hash H`: approve the listing a tool shows now, named by its hash. */
export async function mcpApproveCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  tool: string;
  hash: string | undefined;
}): Promise<number> {
  const [server, tool, ...extra] = options.tool.split("/");
  if (!server || !tool || extra.length > 0)
    throw new KeelError("invalid_request", `name the tool as <server>/<tool>, not "${options.tool}"`);
  if (options.hash === undefined)
    throw new KeelError(
      "invalid_request",
      `--hash is required: the listing's hash you reviewed (keel mcp tools ${options.agent} shows it)`,
    );
  const pin = await options.client.call("approveMcpTool", {
    params: { name: options.agent, server, tool },
    body: { hash: options.hash },
  });
  options.io.out(
    `${pin.server}/${pin.tool} of ${options.agent} approved (${pin.approvedHash}) by ${pin.approvedBy}`,
  );
  return 0;
}
