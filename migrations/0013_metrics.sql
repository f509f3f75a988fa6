-- Counters and the claim-to-done histogram for metrics (`loom metrics`, /metrics),
-- rolled up from the event log at scrape time: the claim path writes nothing
-- more than it did (its event is the record), and a scrape reads a handful of
-- rows instead of counting the whole log.
--
-- A scrape folds the events past the cursor into metrics_counts and moves the
-- cursor, in one transaction, under the cursor's row lock (two scrapers at once
-- take turns: nothing is counted twice). It reads in (tx_id, id) order only
-- transactions older than every one still running, as the outbox relay does
-- (0004), so an event that commits late is never skipped.
CREATE TABLE metrics_cursor (
  name      text PRIMARY KEY,
  tx_id     xid8 NOT NULL,
  event_id  bigint NOT NULL
);
-- From the start of the log: the counters cover all history.
INSERT INTO metrics_cursor (name, tx_id, event_id) VALUES ('events', '0', 0);

-- One row per project and series: `claims`, `lease_expiries`, ..., `claim_to_done_le:<seconds>`
-- (non-cumulative bucket counts), `claim_to_done_sum`, `claim_to_done_count`.
CREATE TABLE metrics_counts (
  project_id  text NOT NULL,
  name        text NOT NULL,
  value       double precision NOT NULL,
  PRIMARY KEY (project_id, name)
);
