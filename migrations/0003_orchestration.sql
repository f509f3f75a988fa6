-- Orchestration policy: stuck-work detection and agent liveness.
-- How often this task's lease ran out without a report (a task that keeps
-- bouncing is escalated), and the last progress its agent reported.
ALTER TABLE tasks ADD COLUMN expiry_count integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN progress text;
ALTER TABLE tasks ADD COLUMN progress_at timestamptz;

-- Cursors of periodic work (e.g. how far agents' last-seen times were read from the event log).
CREATE TABLE loom_state (
  key    text PRIMARY KEY,
  value  bigint NOT NULL
);

-- Open epics, for the tick's completion backstop (epics are few: cheap to keep).
CREATE INDEX tasks_epics ON tasks (project_id) WHERE status = 'epic';
