import { recordUnmappedCode } from '../mapping/functions/scope.ts';
import { MappingFunctionError } from '../mapping/functions/types.ts';
import { translateWith, type ConceptMapIndex, type TranslatedCoding } from './concept-maps.ts';

/**
 * `$translate(code, conceptMap[, sourceSystem])` over a plugin's local ConceptMaps: the target Coding
 * `{system, code, display}`; a code the map cannot translate comes back as the local Coding
 * `{system: <group source>, code}` (the function library's $translate behaves the same way).
 * `conceptMap` is the map's url, id or name; an unknown map is a mapping error (a typo must not
 * silently drop every code). An array of codes gives an array of Codings.
 * Plain synchronous function of its evaluated arguments (compiler-friendly, no `this`).
 */
export function translateFunction(index: ConceptMapIndex) {
  const one = (code: unknown, conceptMap: string, sourceSystem: string | undefined): TranslatedCoding | undefined => {
    if (code === undefined || code === null || code === '') return undefined;
    const map = index.get(conceptMap);
    if (!map) {
      const known = index.keys();
      throw new MappingFunctionError(
        `$translate: no ConceptMap "${conceptMap}" in this plugin (${known.length ? `known: ${known.join(', ')}` : 'its manifest lists no conceptMaps'})`,
        'translate',
      );
    }
    const translated = translateWith(map, String(code), sourceSystem);
    if (translated) return translated;
    // A code with no mapping is never dropped: it comes back as the local Coding (the map's source system)
    // and is recorded as a trail warning of the message, counted in the trail's "mapped" entry.
    const localSystem = sourceSystem ?? map.group[0]?.source;
    recordUnmappedCode(String(code), `ConceptMap ${conceptMap}`, localSystem);
    return localSystem ? { system: localSystem, code: String(code) } : { code: String(code) };
  };
  return (code?: unknown, conceptMap?: unknown, sourceSystem?: unknown): TranslatedCoding | TranslatedCoding[] | undefined => {
    if (typeof conceptMap !== 'string' || conceptMap === '') {
      throw new MappingFunctionError('$translate: the second argument must name a ConceptMap (its url, id or name)', 'translate');
    }
    const system = typeof sourceSystem === 'string' && sourceSystem !== '' ? sourceSystem : undefined;
    if (Array.isArray(code)) {
      const codings = code.map((c) => one(c, conceptMap, system)).filter((c): c is TranslatedCoding => c !== undefined);
      return codings.length ? codings : undefined;
    }
    return one(code, conceptMap, system);
  };
}
