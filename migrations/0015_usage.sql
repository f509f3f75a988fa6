-- Usage reports (tokens and money an agent spent on a task), sent with heartbeat, done and fail.
--
-- usage_reports: one row per accepted report, appended in the report's own transaction: the
-- detail `loom costs` groups by task, agent, epic or day.
--
-- usage_totals: running sums per scope, upserted in the same transaction: scope '' is the
-- project, otherwise a task id (a task's own reports, and for an epic everything below it,
-- nested epics included; a workflow run's is its epic's). Reading what was spent under an epic,
-- a run or the project is one primary-key lookup, whatever the size of the history (what a
-- budget check at claim time needs).
--
-- Money is integer micro-dollars and tokens bigint: sums are exact.
--
-- No foreign key to projects, as for events: a report's rows are written for a task it just
-- changed, and a key to the project row would take a lock on it in every report, which waits on
-- (and can deadlock with) a project removal holding that row.
CREATE TABLE usage_reports (
  id                 bigserial PRIMARY KEY,
  project_id         text NOT NULL,
  task_id            text NOT NULL,
  agent_id           text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('heartbeat', 'done', 'fail')),
  input_tokens       bigint NOT NULL CHECK (input_tokens >= 0),
  output_tokens      bigint NOT NULL CHECK (output_tokens >= 0),
  cache_read_tokens  bigint NOT NULL CHECK (cache_read_tokens >= 0),
  cost_micros        bigint NOT NULL CHECK (cost_micros >= 0),
  model              text,
  at                 timestamptz NOT NULL
);
CREATE INDEX usage_reports_project_at ON usage_reports (project_id, at);

CREATE TABLE usage_totals (
  project_id         text NOT NULL,
  scope              text NOT NULL,
  input_tokens       bigint NOT NULL DEFAULT 0,
  output_tokens      bigint NOT NULL DEFAULT 0,
  cache_read_tokens  bigint NOT NULL DEFAULT 0,
  cost_micros        bigint NOT NULL DEFAULT 0,
  reports            bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, scope)
);
