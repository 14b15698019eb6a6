import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../config/load.ts';
import { MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './types.ts';

export interface IdentifierSystem {
  rl: string;
  oid: string;
  cdaRoot: string | null;
}

let table: Record<string, IdentifierSystem> | undefined;

/** config/identifier-systems.json: concept → RL system, urn:oid form, CDA root. */
export function identifierSystems(): Record<string, IdentifierSystem> {
  if (!table) {
    const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'identifier-systems.json'), 'utf8')) as Record<string, unknown>;
    table = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('$'))) as Record<string, IdentifierSystem>;
  }
  return table;
}

export function enteOidArc(ente: string): string {
  return ente.replace(/^0+/, '') || '0';
}

export function resolveSystem(concept: string, form: 'rl' | 'oid' | 'cdaRoot', ente: string): string | undefined {
  const row = identifierSystems()[concept];
  const value = row?.[form];
  return value ? value.replaceAll('{enteOid}', enteOidArc(ente)) : undefined;
}

export function identifierFunctions(context: MappingFunctionContext): MappingFunction[] {
  return [
    {
      name: 'idSystem',
      signature: '<ss?:s>',
      doc: 'The identifier system of a concept from config/identifier-systems.json ("codiceFiscale", "patientLocalId", "episodio", ...), in the RL form (default), "oid" form or as a CDA "cdaRoot".',
      example: '$idSystem("codiceFiscale") = "http://hl7.it/sid/codiceFiscale"',
      implementation: ((concept: string, form?: string) => {
        const f = (form ?? 'rl') as 'rl' | 'oid' | 'cdaRoot';
        if (!['rl', 'oid', 'cdaRoot'].includes(f)) throw new MappingFunctionError(`$idSystem: form must be "rl", "oid" or "cdaRoot", got "${form}"`, 'idSystem');
        const system = resolveSystem(concept, f, context.ente);
        if (!system) throw new MappingFunctionError(`$idSystem: unknown identifier concept "${concept}" (see config/identifier-systems.json)`, 'idSystem');
        return system;
      }) as MappingFunction['implementation'],
    },
  ];
}
