-- Agents as they make contact, and the messages they send each other.
CREATE TABLE agents (
  project_id    text NOT NULL REFERENCES projects(id),
  agent_id      text NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  -- the id of the last message this agent has read
  inbox_cursor  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, agent_id)
);

CREATE TABLE messages (
  id          bigserial,
  project_id  text NOT NULL REFERENCES projects(id),
  from_agent  text NOT NULL,
  -- an agent id, or '*' for everyone
  to_agent    text NOT NULL,
  thread_id   text,
  body        text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (project_id, id)
);
CREATE INDEX messages_to ON messages (project_id, to_agent, id);
