-- Bookkeeping of the retention job (core/storage/retention.ts): one row per run and table.
CREATE TABLE retention_run (
  id          bigserial PRIMARY KEY,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  ente        text NOT NULL,
  table_name  text NOT NULL,
  deleted     integer NOT NULL,
  cutoff      timestamptz
);
CREATE INDEX retention_run_at_idx ON retention_run (finished_at DESC);
-- The retention queries: old stored/dead-lettered inbox rows and old superseded versions.
CREATE INDEX inbox_retention_idx ON inbox (ente, state, updated_at);
CREATE INDEX resource_history_superseded_idx ON resource_history (ente, superseded_at);
