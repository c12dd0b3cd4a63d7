-- A workflow's handoff to another agent that the governor holds for review (a `@review` policy on `delegate`) asks
-- a person through the same inbox: an approval request of kind 'delegation'. The inbox's kind check gains it.

ALTER TABLE keel_approvals DROP CONSTRAINT keel_approvals_kind_check;
ALTER TABLE keel_approvals
  ADD CONSTRAINT keel_approvals_kind_check
  CHECK (kind IN ('tool-call', 'draft', 'handoff', 'guard', 'task', 'delegation'));
