-- Hold and resume: a flag on the task row (held_at, hold_reason), not a status value. The status
-- goes on being kept while a task is held (a dependency finishing still unblocks it, a claimed
-- task's done or fail still records and moves it), so resuming only drops the flag and the task
-- has the status it would have had now. A held task is never ready and never claimed: the ready
-- and claim statements add `held_at IS NULL`, and the ready index leaves held rows out, so the
-- claim stays one index-backed statement with FOR UPDATE SKIP LOCKED and skips held work cheaply.
ALTER TABLE tasks ADD COLUMN held_at timestamptz;
ALTER TABLE tasks ADD COLUMN hold_reason text;
DROP INDEX tasks_ready;
CREATE INDEX tasks_ready ON tasks (project_id, priority, weight DESC, created_at, id) WHERE status = 'pending' AND held_at IS NULL;
-- `loom status` lists held work; few tasks are held at a time.
CREATE INDEX tasks_held ON tasks (project_id, created_at) WHERE held_at IS NOT NULL;
