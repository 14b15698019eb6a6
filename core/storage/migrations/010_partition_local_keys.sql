-- Uniqueness of resource and resource_history moves from the parent table to each Ente partition.
-- Why: PostgreSQL refuses a foreign-table partition (postgres_fdw, an Ente hosted on another server)
-- under a parent with a unique index. Every partition holds exactly one Ente and the key starts with
-- `ente`, so per-partition keys enforce the same uniqueness. The inbox keeps its parent-level keys
-- (its dedup relies on ON CONFLICT with a target) and always stays on the engine's own database.
ALTER TABLE resource DROP CONSTRAINT resource_pkey;
ALTER TABLE resource_history DROP CONSTRAINT resource_history_pkey;

-- One statement for the existing partitions (kept on lines that do not end with a semicolon: the
-- migration runner splits statements at line-ending semicolons).
DO $$ DECLARE part regclass; BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'resource'::regclass LOOP
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (ente, resource_type, id)', part); END LOOP
  ; FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'resource_history'::regclass LOOP
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (ente, resource_type, id, version_id)', part); END LOOP
; END $$;

