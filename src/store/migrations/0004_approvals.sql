-- The approvals inbox (ARCHITECTURE.md §1): one row per approval request, a projection of the journal's
-- approval-request / approval-decision / approval-expire events, written in the same transaction as the events
-- (src/store/project-approvals.ts) and rebuildable from them (invariant 8). The run itself stays suspended in
-- keel_runs; this table is only the queue a person works from. A request still pending when its run ends (a
-- cancel) is 'withdrawn'.

CREATE TABLE keel_approvals (
  approval_id text PRIMARY KEY,
  run_id text NOT NULL REFERENCES keel_runs (run_id),
  agent text NOT NULL,
  agent_version text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('tool-call', 'draft', 'handoff')),
  tool text,
  call_id text,
  -- The hash of the arguments the request binds to now (an approver's edit replaces it).
  arguments_hash text,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'resolved', 'withdrawn')),
  route_to text NOT NULL,
  -- 0 low, 1 normal, 2 high, 3 urgent: the queue sorts by it, highest first.
  priority smallint NOT NULL,
  requested_by text NOT NULL,
  required_approvals smallint NOT NULL,
  -- Distinct people who approved the current arguments.
  approvers text[] NOT NULL DEFAULT '{}',
  escalations smallint NOT NULL DEFAULT 0,
  edited boolean NOT NULL DEFAULT false,
  summary text NOT NULL,
  requested_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  decided_at timestamptz,
  decided_by text,
  -- The approval-request event as journaled (arguments already redacted), for the detail view.
  request jsonb NOT NULL,
  request_seq integer NOT NULL
);

-- The queue: pending requests of one team, most urgent then soonest due first.
CREATE INDEX keel_approvals_queue_idx ON keel_approvals (route_to, priority DESC, expires_at)
  WHERE status = 'pending';
-- The SLA timer: pending requests by deadline.
CREATE INDEX keel_approvals_due_idx ON keel_approvals (expires_at) WHERE status = 'pending';
CREATE INDEX keel_approvals_agent_idx ON keel_approvals (agent, requested_at);
CREATE INDEX keel_approvals_run_idx ON keel_approvals (run_id);
