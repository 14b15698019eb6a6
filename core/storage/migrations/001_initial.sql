-- Registry of Enti (one CDR partition each). Partitions themselves are created by core/storage/partitions.ts.
CREATE TABLE ente (
  code        text PRIMARY KEY,
  name        text NOT NULL,
  type        text,
  registered_at timestamptz NOT NULL DEFAULT now()
);

-- Raw messages as received, committed before the sender gets its ACK. The trail records each stage.
CREATE TABLE inbox (
  ente         text NOT NULL,
  message_id   uuid NOT NULL,
  plugin_id    text NOT NULL,
  channel      text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  raw          bytea NOT NULL,
  raw_sha256   text NOT NULL,
  content_type text,
  dedup_key    text,
  message_type text,
  control_id   text,
  source_time  timestamptz,
  state        text NOT NULL DEFAULT 'received'
               CHECK (state IN ('received', 'processing', 'stored', 'dead-lettered')),
  trail        jsonb NOT NULL DEFAULT '[]'::jsonb,
  resources    jsonb,
  attempts     integer NOT NULL DEFAULT 0,
  duplicate_of uuid,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ente, message_id)
) PARTITION BY LIST (ente);

-- Messages whose Ente could not be determined (e.g. an MLLP message no plugin claims) are kept too.
CREATE TABLE inbox_unassigned PARTITION OF inbox DEFAULT;

CREATE INDEX inbox_message_id_idx ON inbox (message_id);
CREATE UNIQUE INDEX inbox_dedup_idx ON inbox (ente, plugin_id, dedup_key);
CREATE INDEX inbox_state_idx ON inbox (state, received_at);

-- Current version of every resource, one partition per Ente.
CREATE TABLE resource (
  ente          text NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  version_seq   integer NOT NULL,
  last_updated  timestamptz NOT NULL,
  source_time   timestamptz,
  message_id    uuid,
  producer_hash text,
  content_hash  text NOT NULL,
  resource      jsonb NOT NULL,
  PRIMARY KEY (ente, resource_type, id)
) PARTITION BY LIST (ente);

-- Every earlier version, and versions that arrived out of order (never current).
CREATE TABLE resource_history (
  ente          text NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  last_updated  timestamptz NOT NULL,
  source_time   timestamptz,
  message_id    uuid,
  producer_hash text,
  content_hash  text NOT NULL,
  resource      jsonb NOT NULL,
  out_of_order  boolean NOT NULL DEFAULT false,
  superseded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ente, resource_type, id, version_id)
) PARTITION BY LIST (ente);

-- Messages that failed permanently (or exhausted their retries), with the reason; raw bytes stay in inbox.
CREATE TABLE dead_letter (
  id             uuid PRIMARY KEY,
  ente           text NOT NULL,
  message_id     uuid NOT NULL,
  plugin_id      text NOT NULL,
  stage          text NOT NULL,
  error_code     text NOT NULL,
  reason         text NOT NULL,
  details        jsonb,
  attempts       integer NOT NULL,
  producer_hash  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
  resolved_at    timestamptz,
  resolved_by    text
);
CREATE INDEX dead_letter_open_idx ON dead_letter (status, created_at DESC);
CREATE INDEX dead_letter_message_idx ON dead_letter (message_id);
CREATE INDEX dead_letter_filter_idx ON dead_letter (plugin_id, stage, error_code, created_at DESC);

-- Who did what to which target (replays, discards, pauses, token changes).
CREATE TABLE audit_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor     text NOT NULL,
  action    text NOT NULL,
  target    text,
  ente      text,
  details   jsonb
);
