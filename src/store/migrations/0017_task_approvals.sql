-- Workflow approval nodes (docs/workflows.md, "approval"): a human task with a form is an approval request of kind
-- 'task' in the same inbox, decided through the same API. The inbox's kind check gains that value.

ALTER TABLE keel_approvals DROP CONSTRAINT keel_approvals_kind_check;
ALTER TABLE keel_approvals
  ADD CONSTRAINT keel_approvals_kind_check CHECK (kind IN ('tool-call', 'draft', 'handoff', 'guard', 'task'));
