-- keel_notify() (migration 0013) as PL/pgSQL: the same check and the same notification, but a SQL function that
-- cannot be inlined (it is VOLATILE) is planned again at every call, which cost every fenced append 40-60 µs of the
-- server's time; PL/pgSQL keeps the plan of its query for the session. The table is still read under ACCESS SHARE,
-- held to the writer's COMMIT, so registering a listener still waits for every writer that already looked.
CREATE OR REPLACE FUNCTION keel_notify(channel text, payload text, me text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM keel_listeners
     WHERE listener_id IS DISTINCT FROM me AND expires_at > clock_timestamp()
  ) THEN
    PERFORM pg_notify(channel, payload);
  END IF;
END
$$;
