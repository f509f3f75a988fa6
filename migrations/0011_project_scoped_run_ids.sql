-- Workflow and skill runs are numbered per project, like events and messages: their key becomes
-- (project_id, id). The ids still come from one sequence each, so nothing changes for a store that
-- only ever writes; but `loom import` (and `loom up` moving an embedded project to a server) can keep
-- a project's run ids, which its tasks' context and its events name, without colliding with the runs
-- of another project in the same database. Every read already names the project.
ALTER TABLE workflow_runs DROP CONSTRAINT workflow_runs_pkey, ADD PRIMARY KEY (project_id, id);
ALTER TABLE skill_runs DROP CONSTRAINT skill_runs_pkey, ADD PRIMARY KEY (project_id, id);
