import { createHash } from 'node:crypto';
import type { MappingFunction, MappingFunctionContext } from './types.ts';

/**
 * Deterministic resource id: the same Ente, resource type and business identifier always give the
 * same id, so an update (ADT^A08) lands on the resource the first message (ADT^A01) created.
 * The Ente is part of the seed so ids never collide across partitions.
 */
export function deterministicId(ente: string, resourceType: string, parts: readonly unknown[]): string {
  const hash = createHash('sha256');
  hash.update(ente).update('|').update(resourceType);
  for (const part of parts) hash.update('|').update(part === undefined || part === null ? '' : String(part));
  return hash.digest('hex').slice(0, 32);
}

export function identityFunctions(context: MappingFunctionContext): MappingFunction[] {
  return [
    {
      name: 'resourceId',
      signature: '<s(sna)*:s>',
      doc: 'Deterministic id from the resource type and business identifier parts (the Ente is added implicitly). Returns no value when every part is missing.',
      example: '$resourceId("Patient", "http://hl7.it/sid/codiceFiscale", "RSSMRA80A01H501U")',
      implementation: ((resourceType: string, ...parts: unknown[]) => {
        if (parts.length > 0 && parts.every((p) => p === undefined || p === null || p === '')) return undefined;
        return deterministicId(context.ente, resourceType, parts);
      }) as MappingFunction['implementation'],
    },
    {
      name: 'reference',
      signature: '<s(sna)*:o>',
      doc: 'A Reference object {"reference": "Type/id"} to the resource with that deterministic id.',
      example: '$reference("Patient", "http://hl7.it/sid/codiceFiscale", "RSSMRA80A01H501U")',
      implementation: ((resourceType: string, ...parts: unknown[]) => {
        if (parts.length > 0 && parts.every((p) => p === undefined || p === null || p === '')) return undefined;
        return { reference: `${resourceType}/${deterministicId(context.ente, resourceType, parts)}` };
      }) as MappingFunction['implementation'],
    },
  ];
}
