import type { SqlClient } from "../../src/store/index.ts";

const STATEMENTS = [
  `CREATE OR REPLACE FUNCTION keel_test_batch_part(b keel_event_batches, lo integer, hi integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF hi <= lo THEN RETURN; END IF;
  INSERT INTO keel_event_batches
    (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
  VALUES (
    b.run_id, b.first_seq + lo, b.types[lo + 1:hi], b.at, b.schema_version,
    (SELECT '[' || string_agg(e.payload::text, ',' ORDER BY e.position) || ']'
       FROM json_array_elements(b.payloads::json) WITH ORDINALITY AS e(payload, position)
      WHERE e.position > lo AND e.position <= hi),
    substring(b.payload_hashes FROM lo * 32 + 1 FOR (hi - lo) * 32),
    CASE WHEN lo = 0 THEN b.prev_hash ELSE substring(b.hashes FROM (lo - 1) * 32 + 1 FOR 32) END,
    substring(b.hashes FROM lo * 32 + 1 FOR (hi - lo) * 32),
    b.lease_token);
END $$;`,
  `CREATE OR REPLACE FUNCTION keel_test_isolate_event(p_run text, p_seq integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  b keel_event_batches%ROWTYPE;
  n integer;
BEGIN
  SELECT * INTO b FROM keel_event_batches WHERE run_id = p_run AND first_seq <= p_seq
   ORDER BY first_seq DESC LIMIT 1;
  IF NOT FOUND THEN RETURN false; END IF;
  n := cardinality(b.types);
  IF p_seq >= b.first_seq + n THEN RETURN false; END IF;
  IF n = 1 THEN RETURN true; END IF;
  DELETE FROM keel_event_batches WHERE run_id = p_run AND first_seq = b.first_seq;
  PERFORM keel_test_batch_part(b, 0, p_seq - b.first_seq);
  PERFORM keel_test_batch_part(b, p_seq - b.first_seq, p_seq - b.first_seq + 1);
  PERFORM keel_test_batch_part(b, p_seq - b.first_seq + 1, n);
  RETURN true;
END $$;`,
  `CREATE OR REPLACE FUNCTION keel_test_write_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF NOT keel_test_isolate_event(OLD.run_id, OLD.seq) THEN RETURN NULL; END IF;
    DELETE FROM keel_event_batches WHERE run_id = OLD.run_id AND first_seq = OLD.seq;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  INSERT INTO keel_event_batches
    (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
  VALUES (NEW.run_id, NEW.seq, ARRAY[NEW.type], NEW.at, NEW.schema_version, '[' || NEW.payload || ']',
          NEW.payload_hash, NEW.prev_hash, NEW.hash, NEW.lease_token);
  RETURN NEW;
END $$;`,
  `DROP TRIGGER IF EXISTS keel_test_write_event ON keel_events;`,
  `CREATE TRIGGER keel_test_write_event INSTEAD OF INSERT OR UPDATE OR DELETE ON keel_events
  FOR EACH ROW EXECUTE FUNCTION keel_test_write_event();`,
];

/**
 * Make the `keel_events` view writable one event at a time, for tests that tamper with the journal as someone
 * with SQL access would: an UPDATE, DELETE or INSERT naming one event acts on that event alone, as on the table
 * of one row per event the view replaced (migration 0025). The event is first moved into a batch row of its own
 * (the events before and after it keep theirs, unchanged), then changed, deleted, or inserted as a batch of one.
 * The store itself never writes through the view; these triggers exist only in the test's database.
 */
export async function makeEventRowsWritable(sql: SqlClient): Promise<void> {
  for (const statement of STATEMENTS) await sql.query(statement);
}
