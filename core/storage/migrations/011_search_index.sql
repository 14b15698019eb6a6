-- Search index side tables, filled in the same transaction as every write of a current resource
-- (core/storage/search-index.ts). Partitioned per Ente like `resource`, so a search never leaves the
-- partitions of the Enti it is allowed to read, and an Ente's index moves with its data (postgres_fdw, Citus).

-- Token parameters: identifier (system|value), code, type. `system` is canonical: a bare OID when
-- the system has a known OID (urn:oid:X, X and the RL URL all index as X), else the URI as written.
CREATE TABLE search_token (
  ente          text NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  param         text NOT NULL,
  system        text NOT NULL,
  code          text NOT NULL
) PARTITION BY LIST (ente);
CREATE INDEX search_token_lookup_idx ON search_token (ente, param, code, system, resource_type, id);
CREATE INDEX search_token_owner_idx ON search_token (ente, resource_type, id);

-- Literal references between resources of the same Ente: subject, patient, encounter, entry
-- (Composition.section.entry), related (DocumentReference.context.related).
CREATE TABLE search_reference (
  ente          text NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  param         text NOT NULL,
  target_type   text NOT NULL,
  target_id     text NOT NULL
) PARTITION BY LIST (ente);
CREATE INDEX search_reference_target_idx ON search_reference (ente, target_type, target_id, param, resource_type, id);
CREATE INDEX search_reference_owner_idx ON search_reference (ente, resource_type, id);

-- The clinical date of a resource as a half-open range [low, high): a day is [00:00, next 00:00)
-- in Europe/Rome, a Period is [start, end), an open end is 'infinity'.
CREATE TABLE search_date (
  ente          text NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  param         text NOT NULL,
  low           timestamptz NOT NULL,
  high          timestamptz NOT NULL
) PARTITION BY LIST (ente);
CREATE INDEX search_date_lookup_idx ON search_date (ente, resource_type, param, low, high);
CREATE INDEX search_date_owner_idx ON search_date (ente, resource_type, id);

-- When a resource first entered the CDR (kept across updates): the basis of governance counts.
ALTER TABLE resource ADD COLUMN first_stored_at timestamptz;
UPDATE resource r SET first_stored_at = COALESCE(
  (SELECT min(h.last_updated) FROM resource_history h WHERE h.ente = r.ente AND h.resource_type = r.resource_type AND h.id = r.id),
  r.last_updated);
ALTER TABLE resource ALTER COLUMN first_stored_at SET DEFAULT now();
ALTER TABLE resource ALTER COLUMN first_stored_at SET NOT NULL;
CREATE INDEX resource_last_updated_idx ON resource (ente, resource_type, last_updated, id);
CREATE INDEX resource_first_stored_idx ON resource (ente, resource_type, first_stored_at);

-- Which version of the extraction rules each Ente's index was built with; a newer engine rebuilds
-- the index of older Enti at start (core/storage/partitions.ts).
ALTER TABLE ente ADD COLUMN search_index_version integer NOT NULL DEFAULT 0;
