import type { SqlExecutor } from './db.ts';
import type { FhirResource } from './types.ts';

/**
 * The shared regional directory (DDC in the RL IG): Organization L1 (Enti), L2 (presidi), L3 (reparti)
 * and other resources every partition may reference. One table, not partitioned: it holds no patient
 * data. References to it from any Ente pass the reference guard; the FHIR API does not join it into
 * searches, so it cannot carry one Ente's data into another's results.
 */

export const ENTE_IDENTIFIER_SYSTEM = 'https://fhir.siss.regione.lombardia.it/sid/codiceIdentificativoEnte';

/** The directory id of an Ente's L1 Organization: "ente-<code>" (underscores become dashes: FHIR ids have none). */
export function enteOrganizationId(code: string): string {
  return `ente-${code.replace(/_/g, '-')}`;
}

export function enteOrganization(ente: { code: string; name: string; type?: string | null | undefined }): FhirResource {
  return {
    resourceType: 'Organization',
    id: enteOrganizationId(ente.code),
    identifier: [{ system: ENTE_IDENTIFIER_SYSTEM, value: ente.code }],
    active: true,
    ...(ente.type ? { type: [{ text: ente.type }] } : {}),
    name: ente.name,
  };
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export class DirectoryError extends Error {}

export async function upsertDirectoryResource(db: SqlExecutor, resource: FhirResource): Promise<void> {
  if (typeof resource.resourceType !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(resource.resourceType)) {
    throw new DirectoryError('a directory entry needs a resourceType');
  }
  if (typeof resource.id !== 'string' || !FHIR_ID.test(resource.id)) throw new DirectoryError('a directory entry needs a valid id (1-64 of A-Z a-z 0-9 - .)');
  await db.query(
    `INSERT INTO directory_resource (resource_type, id, resource) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (resource_type, id) DO UPDATE SET resource = EXCLUDED.resource, updated_at = now()`,
    [resource.resourceType, resource.id, JSON.stringify(resource)],
  );
}

export async function getDirectoryResource(db: SqlExecutor, resourceType: string, id: string): Promise<FhirResource | undefined> {
  const result = await db.query<{ resource: FhirResource }>('SELECT resource FROM directory_resource WHERE resource_type = $1 AND id = $2', [resourceType, id]);
  return result.rows[0]?.resource;
}

export async function listDirectory(db: SqlExecutor, resourceType?: string): Promise<FhirResource[]> {
  const result = await db.query<{ resource: FhirResource }>(
    'SELECT resource FROM directory_resource WHERE ($1::text IS NULL OR resource_type = $1) ORDER BY resource_type, id',
    [resourceType ?? null],
  );
  return result.rows.map((r) => r.resource);
}
