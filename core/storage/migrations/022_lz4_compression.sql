-- The large values (raw messages, stored resources, trails) are compressed with lz4 instead of
-- PostgreSQL's default pglz. Why: values above 2 KB are compressed on every write (each CDA's 50 KB
-- raw message, its larger resources, the inbox row rewritten as 'stored'), and lz4 compresses several
-- times faster than pglz for a slightly larger result. Measured: PostgreSQL CPU per CDA -3 to -15 %
-- together with migration 023 (docs/performance.md). Only newly written values are affected.
-- Partitions created later inherit the setting from the parent; the existing ones are set here (an
-- ALTER on the parent does not reach them). Foreign-table partitions compress on their own server.
-- A server built without lz4 (and PGlite) keeps pglz: the block then changes nothing.
-- (Kept on lines that do not end with a semicolon: the migration runner splits at those.)
DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT c.oid::regclass AS part, c.relname::text AS base FROM pg_class c
      WHERE c.relname IN ('inbox', 'resource', 'resource_history') AND c.relnamespace = current_schema()::regnamespace
      UNION ALL SELECT i.inhrelid::regclass, p.relname::text FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname IN ('inbox', 'resource', 'resource_history') AND p.relnamespace = current_schema()::regnamespace
        AND c.relkind IN ('r', 'p') LOOP
    IF t.base = 'inbox' THEN
      EXECUTE format('ALTER TABLE %s ALTER COLUMN raw SET COMPRESSION lz4, ALTER COLUMN trail SET COMPRESSION lz4, ALTER COLUMN resources SET COMPRESSION lz4', t.part)
    ; ELSE
      EXECUTE format('ALTER TABLE %s ALTER COLUMN resource SET COMPRESSION lz4', t.part)
    ; END IF
  ; END LOOP
; EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
  RAISE NOTICE 'lz4 compression is not available on this server: values stay compressed with pglz'
; END $$;
