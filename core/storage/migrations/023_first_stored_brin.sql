-- The "stored per period" statistics (first_stored_at ranges) read a BRIN index instead of a B-tree.
-- Why: first_stored_at only grows as rows are inserted, which is what BRIN summarises well, and the
-- B-tree was a third of the index entries every new resource row costs (each ORU writes ~17 rows;
-- index insertion was ~40 % of PostgreSQL's CPU in an ORU run, perf). A BRIN entry is updated only
-- when a block range's summary widens. The statistics query reads the block ranges in the asked
-- period and rechecks their rows; without a period it scans the partition, as it did before.
DROP INDEX IF EXISTS resource_first_stored_idx;
CREATE INDEX resource_first_stored_brin ON resource USING brin (first_stored_at);
