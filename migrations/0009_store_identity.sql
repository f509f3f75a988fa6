-- This database's identity as a Loom store: one row, made once. A server-mode project records it in
-- its .loom/config.yaml (project.store_id), so a process pointed at another database (or at none,
-- falling back to the embedded store) refuses instead of creating a second, empty project.
CREATE TABLE store_identity (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id          text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO store_identity (id) VALUES (gen_random_uuid()::text);
