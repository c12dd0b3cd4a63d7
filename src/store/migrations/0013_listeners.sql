-- Who LISTENs for Keel's notifications, so a writer sends NOTIFY only when someone else will hear it (NOTIFY takes a
-- global lock at COMMIT and fills a queue every listener must drain). A store adds its row once it listens, renews it
-- while it lives, and deletes it when it closes; a row not renewed expires, so a crashed process stops costing
-- notifications. keel_notify() is what every writer calls instead of pg_notify().
CREATE TABLE keel_listeners (
  listener_id text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

-- Notify `channel` when a live listener other than `me` (the writer's own store, woken in process) exists. A writer
-- reads the table under ACCESS SHARE, held to its COMMIT; a new listener registers under ACCESS EXCLUSIVE, so it waits
-- for every writer that already looked and then wakes its waiters, which see what those writers committed, and every
-- writer after it sees its row (see registerListener in src/store/listeners.ts).
CREATE FUNCTION keel_notify(channel text, payload text, me text) RETURNS void
LANGUAGE sql VOLATILE AS $$
  SELECT pg_notify(channel, payload)
   WHERE EXISTS (
     SELECT 1 FROM keel_listeners
      WHERE listener_id IS DISTINCT FROM me AND expires_at > clock_timestamp()
   )
$$;
