-- The shared regional directory (DDC: Organization L1 Ente / L2 presidio / L3 reparto, prescribers):
-- not partitioned, readable by every Ente's data. A reference such as Organization/ente-030901
-- from any partition resolves here (core/storage/reference-guard.ts). Each registered Ente gets its
-- L1 Organization automatically (id "ente-<code>"); others are loaded through POST /admin/directory.
CREATE TABLE directory_resource (
  resource_type text NOT NULL,
  id            text NOT NULL,
  resource      jsonb NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (resource_type, id)
);
