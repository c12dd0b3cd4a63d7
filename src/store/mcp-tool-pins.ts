import { KeelError } from "../errors/index.ts";
import type { SqlClient } from "./store.ts";

/** One MCP tool of an agent: the listing approved and the listing its server last showed. */
export type McpToolPin = {
  agent: string;
  server: string;
  tool: string;
  approvedHash: string | null;
  approvedDefinition: Record<string, unknown> | null;
  approvedBy: string | null;
  approvedAt: string | null;
  seenHash: string;
  seenDefinition: Record<string, unknown>;
  seenAt: string;
  /** Why the listing last seen is refused; null when it is the approved one. */
  refusal: string | null;
};

export type McpToolPins = {
  /**
   * Record a listing a server showed. The first listing of a tool is approved by `deployedBy` unless `suspicion`
   * says why it may not be; a later one that differs from the approved listing is refused (with `suspicion` or
   * "changed") until a person approves it. Answers the pin as it now stands.
   */
  observe(options: {
    agent: string;
    server: string;
    tool: string;
    hash: string;
    definition: Record<string, unknown>;
    suspicion: string | null;
    deployedBy: string;
  }): Promise<McpToolPin>;
  get(agent: string, server: string, tool: string): Promise<McpToolPin | null>;
  list(agent: string): Promise<McpToolPin[]>;
  /** Approve the listing last seen, named by its hash (what the person reviewed); conflict when it moved on. */
  approve(options: {
    agent: string;
    server: string;
    tool: string;
    hash: string;
    by: string;
  }): Promise<McpToolPin>;
};

type PinRow = {
  agent: string;
  server: string;
  tool: string;
  approved_hash: string | null;
  approved_definition: Record<string, unknown> | null;
  approved_by: string | null;
  approved_at: Date | null;
  seen_hash: string;
  seen_definition: Record<string, unknown>;
  seen_at: Date;
  refusal: string | null;
};

const COLUMNS =
  "agent, server, tool, approved_hash, approved_definition, approved_by, approved_at, seen_hash, seen_definition, seen_at, refusal";

export function createSqlMcpToolPins(sql: SqlClient): McpToolPins {
  return {
    async observe(options) {
      const definition = JSON.stringify(options.definition);
      const { rows } = await sql.query<PinRow>(
        `INSERT INTO keel_mcp_tool_pins AS p (agent, server, tool, approved_hash, approved_definition, approved_by,
           approved_at, seen_hash, seen_definition, seen_at, refusal)
         SELECT $1, $2, $3,
                CASE WHEN $6::text IS NULL THEN $4 END, CASE WHEN $6::text IS NULL THEN $5::jsonb END,
                CASE WHEN $6::text IS NULL THEN $7 END, CASE WHEN $6::text IS NULL THEN clock_timestamp() END,
                $4, $5::jsonb, clock_timestamp(), $6
         ON CONFLICT (agent, server, tool) DO UPDATE
           SET seen_hash = excluded.seen_hash, seen_definition = excluded.seen_definition, seen_at = excluded.seen_at,
               refusal = CASE
                 WHEN p.approved_hash = excluded.seen_hash THEN NULL
                 WHEN p.approved_hash IS NULL THEN coalesce($6, 'never approved')
                 ELSE coalesce($6, 'its listing changed since it was approved')
               END
         RETURNING ${COLUMNS}`,
        [
          options.agent,
          options.server,
          options.tool,
          options.hash,
          definition,
          options.suspicion,
          options.deployedBy,
        ],
      );
      return toPin(rows[0]!);
    },
    async get(agent, server, tool) {
      const { rows } = await sql.query<PinRow>(
        `SELECT ${COLUMNS} FROM keel_mcp_tool_pins WHERE agent = $1 AND server = $2 AND tool = $3`,
        [agent, server, tool],
      );
      return rows[0] ? toPin(rows[0]) : null;
    },
    async list(agent) {
      const { rows } = await sql.query<PinRow>(
        `SELECT ${COLUMNS} FROM keel_mcp_tool_pins WHERE agent = $1 ORDER BY server, tool`,
        [agent],
      );
      return rows.map(toPin);
    },
    async approve(options) {
      const { rows } = await sql.query<PinRow>(
        `UPDATE keel_mcp_tool_pins
            SET approved_hash = seen_hash, approved_definition = seen_definition, approved_by = $5,
                approved_at = clock_timestamp(), refusal = NULL
          WHERE agent = $1 AND server = $2 AND tool = $3 AND seen_hash = $4
         RETURNING ${COLUMNS}`,
        [options.agent, options.server, options.tool, options.hash, options.by],
      );
      if (rows[0]) return toPin(rows[0]);
      const current = await this.get(options.agent, options.server, options.tool);
      if (!current)
        throw new KeelError(
          "not_found",
          `agent ${options.agent} has no MCP tool ${options.server}/${options.tool}`,
        );
      throw new KeelError(
        "conflict",
        `${options.server}/${options.tool} now shows the listing ${current.seenHash}, not ${options.hash}: review it again`,
      );
    },
  };
}

function toPin(row: PinRow): McpToolPin {
  return {
    agent: row.agent,
    server: row.server,
    tool: row.tool,
    approvedHash: row.approved_hash,
    approvedDefinition: row.approved_definition,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at ? new Date(row.approved_at).toISOString() : null,
    seenHash: row.seen_hash,
    seenDefinition: row.seen_definition,
    seenAt: new Date(row.seen_at).toISOString(),
    refusal: row.refusal,
  };
}
