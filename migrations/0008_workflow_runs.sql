-- One row per workflow run: what was instantiated (name, source, version,
-- content hash, inputs), the epic it made, and which tasks each step became.
-- A run key makes a run idempotent: the same key twice in a project is one run.
CREATE TABLE workflow_runs (
  id            bigserial PRIMARY KEY,
  project_id    text NOT NULL REFERENCES projects (id),
  workflow      text NOT NULL,
  source        text NOT NULL,
  version       text NOT NULL,
  content_hash  text NOT NULL,
  inputs        jsonb NOT NULL,
  epic_id       text NOT NULL REFERENCES tasks (id),
  run_key       text,
  -- [[step path, [task ids]], ...] in the workflow's order (a jsonb object would sort its keys)
  steps         jsonb NOT NULL,
  -- [[task key, task id], ...]: step id; impl-2 for a fan-out's second task; tests-lint for a used workflow's step
  tasks         jsonb NOT NULL,
  -- [{step, reason}]
  skipped       jsonb NOT NULL DEFAULT '[]',
  created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX workflow_runs_key ON workflow_runs (project_id, run_key) WHERE run_key IS NOT NULL;
CREATE INDEX workflow_runs_project ON workflow_runs (project_id, id);
CREATE INDEX workflow_runs_epic ON workflow_runs (epic_id);
-- Workflow steps whose condition or fan-out waits to be decided when released: the tick's backstop finds them here.
CREATE INDEX tasks_workflow_gate ON tasks (project_id) WHERE status = 'pending' AND (context ? 'workflow_when' OR context ? 'workflow_for_each');
