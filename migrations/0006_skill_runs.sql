-- Every render of a skill for a task is recorded, in the same transaction as
-- its skill.used event. How the task ended is not stored here: it is read
-- from the events after event_id (loom skills stats), so nothing is added to
-- the claim/done hot path.
CREATE TABLE skill_runs (
  id            bigserial PRIMARY KEY,
  project_id    text NOT NULL REFERENCES projects (id),
  skill         text NOT NULL,
  source        text NOT NULL,
  version       text NOT NULL,
  content_hash  text NOT NULL,
  task_id       text NOT NULL,
  agent_id      text,
  event_id      bigint NOT NULL,
  at            timestamptz NOT NULL
);
CREATE INDEX skill_runs_project ON skill_runs (project_id, skill, version);
