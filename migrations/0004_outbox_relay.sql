-- The outbox relay (server mode): publishes committed events to Redis in an
-- order no later commit can slip in front of.
--
-- Event ids come from one sequence, but transactions commit in any order: a
-- relay reading "ids after the last one published" would skip an event whose
-- transaction took its id first and committed last. So each event records
-- its transaction id, and the relay publishes in (tx_id, id) order only the
-- events of transactions older than every transaction still running
-- (pg_snapshot_xmin): that set can no longer grow, so the cursor never
-- passes an event that is yet to commit.
--
-- Events written before this migration get tx_id 0 (no table rewrite) and
-- count as published: the cursor below starts past them.
ALTER TABLE events ADD COLUMN tx_id xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id();
CREATE INDEX events_relay ON events (tx_id, id);

-- How far each relay target got; the row's holder is the only relay
-- publishing (relays take an advisory lock, then move the cursor).
CREATE TABLE relay_cursors (
  name          text PRIMARY KEY,
  tx_id         xid8 NOT NULL,
  event_id      bigint NOT NULL,
  published_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO relay_cursors (name, tx_id, event_id) VALUES ('redis', '0', COALESCE((SELECT max(id) FROM events), 0));
