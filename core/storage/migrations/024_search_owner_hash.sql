-- The search tables' owner indexes become hash indexes on `id` (were B-trees on (ente, resource_type, id)).
-- Why: they are read only by equality (the store deleting a replaced resource's index rows, a rebuild,
-- and the FHIR search checking a filter per driver row, docs/storage.md §6.3), yet each index row paid a
-- B-tree descent with collation-aware text comparisons on insert: B-tree insertion was 39 % of
-- PostgreSQL's CPU in an ORU run (perf), and these indexes held about a third of the entries an ORU
-- message inserts. A hash index insert hashes the id once and appends to its bucket. `id` alone: each
-- partition holds one Ente, and the few rows of an id (one resource's 1-5 index rows, rarely a same-id
-- resource of another type) are then filtered on resource_type.
DROP INDEX IF EXISTS search_token_owner_idx;
DROP INDEX IF EXISTS search_reference_owner_idx;
DROP INDEX IF EXISTS search_date_owner_idx;
CREATE INDEX search_token_owner_idx ON search_token USING hash (id);
CREATE INDEX search_reference_owner_idx ON search_reference USING hash (id);
CREATE INDEX search_date_owner_idx ON search_date USING hash (id);
