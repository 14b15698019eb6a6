import { cdaFunctions } from './cda.ts';
import { hl7v2Functions } from './hl7v2.ts';
import { identifierFunctions } from './identifiers.ts';
import { identityFunctions } from './identity.ts';
import { timeFunctions } from './time.ts';
import type { MappingFunction, MappingFunctionContext } from './types.ts';

export { MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './types.ts';
export { deterministicId } from './identity.ts';
export { currentMappingScope, newMappingScope, recordMappingWarning, recordUnmappedCode, runInMappingScope, type MappingScope } from './scope.ts';
export { identifierSystems, resolveSystem, enteOidArc, type IdentifierSystem } from './identifiers.ts';

/** Every library function, built for one plugin's context (Ente, time zone...). */
export function buildFunctionLibrary(context: MappingFunctionContext): MappingFunction[] {
  return [...timeFunctions(context), ...identityFunctions(context), ...identifierFunctions(context), ...hl7v2Functions(context), ...cdaFunctions(context)];
}

/** The library as JSONata bindings: `{ dateTime: fn, ... }`, bound as `$dateTime` etc. */
export function functionBindings(context: MappingFunctionContext): Record<string, unknown> {
  const bindings: Record<string, unknown> = {};
  for (const fn of buildFunctionLibrary(context)) bindings[fn.name] = fn.implementation;
  return bindings;
}
