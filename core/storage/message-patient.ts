import type { SqlExecutor } from './db.ts';
import type { FhirResource } from './types.ts';

export interface MessagePatientRow {
  system: string;
  value: string;
  ente: string;
  message_id: string;
}

/** The identifiers (system|value) of the Patient resources a message produced. */
export function patientIdentifiers(resources: readonly FhirResource[]): Array<{ system: string; value: string }> {
  const seen = new Map<string, { system: string; value: string }>();
  for (const resource of resources) {
    if (resource.resourceType !== 'Patient' || !Array.isArray(resource.identifier)) continue;
    for (const identifier of resource.identifier as Array<{ system?: unknown; value?: unknown }>) {
      if (typeof identifier?.system !== 'string' || typeof identifier.value !== 'string') continue;
      seen.set(`${identifier.system}|${identifier.value}`, { system: identifier.system, value: identifier.value });
    }
  }
  return [...seen.values()];
}

/**
 * Indexes the stored messages by patient identifier (message search by `patientIdentifier=system|value`),
 * in the caller's transaction so the index never disagrees with the store.
 */
export async function indexMessagePatients(
  tx: SqlExecutor,
  messages: ReadonlyArray<{ ente: string; messageId: string; resources: readonly FhirResource[] }>,
): Promise<void> {
  const rows = messagePatientRows(messages);
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO message_patient (system, value, ente, message_id)
     SELECT system, value, ente, message_id FROM json_to_recordset($1::json) AS x(system text, value text, ente text, message_id uuid)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

/** The message_patient rows of some messages (the store inserts them inside its combined write). */
export function messagePatientRows(
  messages: ReadonlyArray<{ ente: string; messageId: string; resources: readonly FhirResource[] }>,
): MessagePatientRow[] {
  const rows: MessagePatientRow[] = [];
  for (const message of messages) {
    for (const { system, value } of patientIdentifiers(message.resources)) rows.push({ system, value, ente: message.ente, message_id: message.messageId });
  }
  return rows;
}
