-- Applied decomposition plans: one row per (project, parent, plan hash), so
-- sending the same plan again under the same parent writes nothing new and
-- returns the same ids. parent_id is '' for "a new epic titled after the plan".
CREATE TABLE decompositions (
  project_id  text NOT NULL REFERENCES projects (id),
  parent_id   text NOT NULL,
  plan_hash   text NOT NULL,
  epic_id     text NOT NULL REFERENCES tasks (id),
  -- plan key -> task id
  task_ids    jsonb NOT NULL,
  edges       integer NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (project_id, parent_id, plan_hash)
);
