-- Only labelled tasks in the labels index. GIN keeps an entry even for an empty array, so every
-- task row version paid a GIN insert for a list nobody can search for; and a claim-and-done cycle
-- writes two row versions, neither HOT (status is in the predicates of the partial indexes). That
-- was ~280 of ~2,370 WAL bytes per cycle, measured on a private cluster with bench/compare's
-- drain. The label filters now say `labels <> '{}'` beside `labels @> $n` (which a non-empty filter
-- implies), so the planner can prove this predicate and use the index.
DROP INDEX tasks_labels;
CREATE INDEX tasks_labels ON tasks USING gin (labels) WHERE labels <> '{}';
