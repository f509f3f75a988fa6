-- Each relay cursor gets an identity of its own. Redis keeps the last
-- position it accepted from a cursor (so a batch sent again after a crash is
-- dropped) under a key named after it: two databases relaying to one Redis
-- under the same key prefix no longer share that guard, which would make
-- one drop the other's events.
ALTER TABLE relay_cursors ADD COLUMN relay_id text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text);
