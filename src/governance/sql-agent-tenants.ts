import type { SqlClient } from "../store/index.ts";

/**
 * Remember which tenant each served agent belongs to (`keel_agent_tenants`) and read back every agent's, so the
 * registry entries of an agent no longer served stay with its tenant.
 */
export async function recordAgentTenants(
  sql: SqlClient,
  agents: readonly { name: string; tenant: string }[],
): Promise<Map<string, string>> {
  for (const agent of agents) {
    await sql.query(
      `INSERT INTO keel_agent_tenants (agent, tenant) VALUES ($1, $2)
       ON CONFLICT (agent) DO UPDATE SET tenant = EXCLUDED.tenant, updated_at = clock_timestamp()
       WHERE keel_agent_tenants.tenant <> EXCLUDED.tenant`,
      [agent.name, agent.tenant],
    );
  }
  const { rows } = await sql.query<{ agent: string; tenant: string }>(
    "SELECT agent, tenant FROM keel_agent_tenants",
  );
  return new Map(rows.map((row) => [row.agent, row.tenant]));
}
