-- Budgets (`loom budget set`): a spending limit in micro-dollars on the project (scope ''), an
-- epic or a workflow run (its epic), read against usage_totals of the same scope.
--
-- Past 80% a report raises budget.warning (warned_at, once). At 100% the report that crosses the
-- line stops the scope in its own transaction: every open task under it is flagged held with
-- held_by_budget = the scope (the claim statements already skip held rows, and the ready index
-- leaves them out, so the claim path reads nothing more), an escalation is opened, and
-- exceeded_at is set. Raising the budget above what was spent lifts the stop.
CREATE TABLE budgets (
  project_id     text NOT NULL,
  scope          text NOT NULL,
  budget_micros  bigint NOT NULL CHECK (budget_micros > 0),
  warned_at      timestamptz,
  exceeded_at    timestamptz,
  escalation_id  text,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (project_id, scope)
);

-- The scope whose budget holds the task ('' the project, or an epic id); null when the task is
-- not held or held by a person (`loom hold`). Raising that budget resumes exactly these.
ALTER TABLE tasks ADD COLUMN held_by_budget text;

-- Set while the project's own budget is exceeded: a task created then is born held. Creators read
-- it with the FOR KEY SHARE they take on the project row; the crossing takes the row FOR UPDATE.
ALTER TABLE projects ADD COLUMN budget_stopped_at timestamptz;
