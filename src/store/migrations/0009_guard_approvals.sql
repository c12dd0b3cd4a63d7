-- Prompt-injection guards (docs/security.md, "Prompt-injection guard"): a run's input or a tool result the
-- detector flagged under `review` is held for a person as an approval request of kind 'guard'. The inbox's kind
-- check gains that value; PostgreSQL and PGlite both name the column check keel_approvals_kind_check.

ALTER TABLE keel_approvals DROP CONSTRAINT keel_approvals_kind_check;
ALTER TABLE keel_approvals
  ADD CONSTRAINT keel_approvals_kind_check CHECK (kind IN ('tool-call', 'draft', 'handoff', 'guard'));
