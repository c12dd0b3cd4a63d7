-- An event's three SHA-256 hashes as their 32 bytes instead of 64 hex characters each: about 100 bytes less in every
-- event row and in the WAL that writes it. Readers see the same lowercase hex as before (encode(…, 'hex')), so the
-- journal, the API and the audit log's leaves are unchanged; an append writes decode(…, 'hex') of what it hashed.
-- A value that is not hex (no append writes one) stops the migration rather than being stored as something else.
ALTER TABLE keel_events
  ALTER COLUMN payload_hash TYPE bytea USING decode(payload_hash, 'hex'),
  ALTER COLUMN prev_hash TYPE bytea USING decode(prev_hash, 'hex'),
  ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex');
