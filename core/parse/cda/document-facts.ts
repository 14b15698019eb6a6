import { decodeXmlEntities } from '../xml/index.ts';

/**
 * What identifies and routes a CDA document: ClinicalDocument/code (LOINC document type), id,
 * setId + versionNumber (the versions of one document share the setId) and effectiveTime.
 */
export interface CdaDocumentFacts {
  code: string | null;
  idRoot: string | null;
  idExtension: string | null;
  setIdRoot: string | null;
  setIdExtension: string | null;
  version: string | null;
  effectiveTime: string | null;
}

/**
 * The source message id used for ingest dedup: `root^extension` of the document id, plus setId and
 * versionNumber when present. A redelivered document has the same key (and bytes), a new version has
 * a new id and version, so it is a new message.
 */
export function cdaSourceMessageId(facts: CdaDocumentFacts): string | null {
  if (!facts.idRoot) return null;
  let key = facts.idExtension ? `${facts.idRoot}^${facts.idExtension}` : facts.idRoot;
  if (facts.setIdRoot) key += `|setId=${facts.setIdExtension ? `${facts.setIdRoot}^${facts.setIdExtension}` : facts.setIdRoot}`;
  if (facts.version) key += `|version=${facts.version}`;
  return key;
}

const HEADER_END = /<(?:[\w.-]+:)?(?:recordTarget|component|structuredBody)[\s>/]/;

function element(head: string, name: string): string | undefined {
  return new RegExp(`<(?:[\\w.-]+:)?${name}(\\s[^>]*)?/?>`).exec(head)?.[1];
}

function attribute(attributes: string | undefined, name: string): string | null {
  if (!attributes) return null;
  const match = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attributes);
  const value = match ? (match[1] ?? match[2] ?? '') : '';
  return value.trim() ? decodeXmlEntities(value).trim() : null;
}

/**
 * Reads the facts from the document header with a few regular expressions, without parsing:
 * ClinicalDocument's own id, code, effectiveTime, setId and versionNumber all precede recordTarget
 * (CDA R2 schema order), where nested ids and codes start. Never throws.
 */
export function readCdaHeaderFacts(text: string): CdaDocumentFacts {
  const end = HEADER_END.exec(text)?.index ?? Math.min(text.length, 65536);
  const head = text.slice(0, end).replace(/<!--[\s\S]*?-->/g, '');
  const id = element(head, 'id');
  const setId = element(head, 'setId');
  return {
    code: attribute(element(head, 'code'), 'code'),
    idRoot: attribute(id, 'root'),
    idExtension: attribute(id, 'extension'),
    setIdRoot: attribute(setId, 'root'),
    setIdExtension: attribute(setId, 'extension'),
    version: attribute(element(head, 'versionNumber'), 'value'),
    effectiveTime: attribute(element(head, 'effectiveTime'), 'value'),
  };
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value || null;
  if (Array.isArray(value)) return text(value[0]);
  return null;
}

function field(node: unknown, key: string): unknown {
  const first = Array.isArray(node) ? node[0] : node;
  return first && typeof first === 'object' ? (first as Record<string, unknown>)[key] : undefined;
}

/** The same facts from the parsed tree (ClinicalDocument object). */
export function cdaFactsFromTree(document: Record<string, unknown>): CdaDocumentFacts {
  return {
    code: text(field(document.code, 'code')),
    idRoot: text(field(document.id, 'root')),
    idExtension: text(field(document.id, 'extension')),
    setIdRoot: text(field(document.setId, 'root')),
    setIdExtension: text(field(document.setId, 'extension')),
    version: text(field(document.versionNumber, 'value')),
    effectiveTime: text(field(document.effectiveTime, 'value')),
  };
}
