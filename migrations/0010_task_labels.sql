-- Labels on tasks (free-form tags such as "area:cli" or "bug"): a text[] column on the task row,
-- not a task_labels table. Labels are few per task (at most 20, checked at the API edge), always
-- read and written with the task they belong to, and filtered as "has ALL of these", which is the
-- array containment operator (labels @> ARRAY[...]) backed by a GIN index. A row in its own table
-- would cost a join on every task read and a second write on every change, for nothing in return.
-- The default '{}' gives every existing task an empty list, so the column is NOT NULL from the start.
ALTER TABLE tasks ADD COLUMN labels text[] NOT NULL DEFAULT '{}';
CREATE INDEX tasks_labels ON tasks USING gin (labels);
