-- The task graph: projects, tasks, dependency edges, escalations and the event log.
CREATE TABLE projects (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE tasks (
  id                text PRIMARY KEY,
  project_id        text NOT NULL REFERENCES projects(id),
  title             text NOT NULL,
  status            text NOT NULL CHECK (status IN ('pending','blocked','claimed','done','failed','cancelled','epic')),
  priority          text NOT NULL CHECK (priority IN ('p0','p1','p2')),
  parent_id         text REFERENCES tasks(id),
  context           jsonb NOT NULL DEFAULT '{}',
  output            jsonb,
  done_when         text,
  origin            jsonb NOT NULL,
  assignee          text,
  attempts          integer NOT NULL DEFAULT 0,
  max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
  run_after         timestamptz,
  lease_token       text,
  lease_expires_at  timestamptz,
  blocked_reason    text CHECK (blocked_reason IN ('dependencies','escalation','dependency_failed')),
  failure_reason    text,
  unmet_deps        integer NOT NULL DEFAULT 0 CHECK (unmet_deps >= 0),
  weight            integer NOT NULL DEFAULT 0,
  revision          integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  -- one active claim per task, enforced by the database
  CONSTRAINT claimed_has_lease CHECK (status <> 'claimed' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL AND assignee IS NOT NULL))
);

-- Every status change rewrites the row and inserts it into every index whose
-- predicate it matches, so the indexes are partial: a claim touches
-- tasks_claimed, a completion none of them.
-- Ready order is index-backed: priority, critical-path weight, age.
CREATE INDEX tasks_ready ON tasks (project_id, priority, weight DESC, created_at, id) WHERE status = 'pending';
-- Leases to sweep, and the claims of a project.
CREATE INDEX tasks_claimed ON tasks (lease_expires_at) WHERE status = 'claimed';
-- Blocked tasks and dead letters of a project.
CREATE INDEX tasks_waiting ON tasks (project_id, status, priority, created_at) WHERE status IN ('blocked', 'failed');
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE task_deps (
  task_id     text NOT NULL REFERENCES tasks(id),
  depends_on  text NOT NULL REFERENCES tasks(id),
  -- edges a child inherits from its epic, kept in step with the epic's own
  inherited   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (task_id, depends_on),
  CHECK (task_id <> depends_on)
);
CREATE INDEX task_deps_depends_on ON task_deps (depends_on);

CREATE TABLE escalations (
  id           text PRIMARY KEY,
  project_id   text NOT NULL REFERENCES projects(id),
  task_id      text NOT NULL REFERENCES tasks(id),
  message      text NOT NULL,
  source       text NOT NULL CHECK (source IN ('agent','policy')),
  raised_by    text,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
  resolution   text,
  created_at   timestamptz NOT NULL,
  resolved_at  timestamptz
);
CREATE INDEX escalations_open ON escalations (project_id, created_at) WHERE status = 'open';
CREATE INDEX escalations_task ON escalations (task_id);

-- The outbox: every change writes its events in the same transaction.
-- No foreign key on project_id: every change appends here, and concurrent
-- key-share locks on the one project row would serialise writers (multixacts).
-- The key is (project, id): every read is one project's log in id order, and
-- one index fewer to maintain on the hottest insert. Ids come from one sequence.
CREATE TABLE events (
  id          bigserial,
  project_id  text NOT NULL,
  type        text NOT NULL,
  task_id     text,
  agent_id    text,
  payload     jsonb NOT NULL DEFAULT '{}',
  at          timestamptz NOT NULL,
  PRIMARY KEY (project_id, id)
);
CREATE INDEX events_task ON events (task_id, id) WHERE task_id IS NOT NULL;
