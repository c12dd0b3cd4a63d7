-- What each agent's MCP tools looked like when a person approved them (at deploy, or by re-approval), and what the
-- server last showed. A tool whose listing (name, title, description, input and output schema) hashes differently
-- from the approved one, or whose description reads as instructions to the model, is refused until a person
-- approves the listing now shown.

CREATE TABLE keel_mcp_tool_pins (
  agent text NOT NULL,
  server text NOT NULL,
  tool text NOT NULL,
  -- NULL until a listing was approved (a tool refused at its first sight has none).
  approved_hash text,
  approved_definition jsonb,
  approved_by text,
  approved_at timestamptz,
  seen_hash text NOT NULL,
  seen_definition jsonb NOT NULL,
  seen_at timestamptz NOT NULL,
  -- Why the listing last seen is refused; NULL when it is the approved one.
  refusal text,
  PRIMARY KEY (agent, server, tool)
);
