-- Project removal (`loom project remove`): the project row stays, so its tasks, events and
-- escalations can still be read and exported; removed_at marks it closed to writes. Writers that
-- add rows to a project check it on the project row in their own transaction (FOR KEY SHARE, the
-- lock their foreign keys take anyway); the removal takes that row FOR UPDATE first.
ALTER TABLE projects ADD COLUMN removed_at timestamptz;
