import { ParseError } from '../../common/errors.ts';
import type { PluginManifest } from '../../plugins/manifest.ts';
import type { Envelope, FormatParser, ParsedDocument } from '../types.ts';
import { checkRootNamespace, decodeXmlHead, readXmlDocument, rootNamespace } from '../xml/index.ts';
import { cdaFactsFromTree, cdaSourceMessageId, readCdaHeaderFacts } from './document-facts.ts';
import { CDA_ARRAY_ELEMENTS, CDA_ARRAYS_UNDER, CDA_NAMESPACE, CDA_RAW_ELEMENTS } from './tree-options.ts';

/** The header (up to recordTarget) of every CDA seen is well within this. */
const ENVELOPE_HEAD_BYTES = 64 * 1024;

const arraySets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The CDA array elements plus the plugin's own (parser.xml.arrayElements), built once per manifest. */
function cdaArrays(extra: readonly string[] | undefined): ReadonlySet<string> {
  if (!extra || extra.length === 0) return CDA_ARRAY_ELEMENTS;
  let set = arraySets.get(extra);
  if (!set) arraySets.set(extra, (set = new Set([...CDA_ARRAY_ELEMENTS, ...extra])));
  return set;
}

/** Parses a CDA R2 document into the tree of docs/parsed-trees.md (`{ "ClinicalDocument": {...} }`). */
export function parseCda(raw: Buffer, manifest?: PluginManifest): ParsedDocument {
  const options = manifest?.parser.xml;
  const { tree, info } = readXmlDocument(raw, {
    ...(options?.maxDepth ? { maxDepth: options.maxDepth } : {}),
    arrays: cdaArrays(options?.arrayElements),
    arraysUnder: CDA_ARRAYS_UNDER,
    rawUnder: CDA_RAW_ELEMENTS,
  });
  if (info.rootName !== 'ClinicalDocument') {
    throw new ParseError(`the document is not a CDA: its root element is <${info.rootQName}>, not <ClinicalDocument>`, {
      code: 'PARSE_CDA_NOT_CLINICAL_DOCUMENT',
    });
  }
  const namespace = rootNamespace(info);
  if (namespace !== CDA_NAMESPACE) {
    throw new ParseError(`<ClinicalDocument> is ${namespace ? `in the namespace "${namespace}"` : 'in no namespace'}, not in "${CDA_NAMESPACE}"`, {
      code: 'PARSE_CDA_NAMESPACE',
    });
  }
  checkRootNamespace(info, options?.namespaces);
  const document = tree.ClinicalDocument;
  const facts = cdaFactsFromTree(typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {});
  if (!facts.code) {
    throw new ParseError('ClinicalDocument/code/@code (the LOINC document type) is missing: the document cannot be routed', {
      code: 'PARSE_CDA_NO_CODE',
    });
  }
  return { tree, routeKey: facts.code, sourceMessageId: cdaSourceMessageId(facts), sourceTime: facts.effectiveTime };
}

/**
 * CDA R2 (HL7 Italia FSE documents: LAB, LDO, VPS...). Routes on the LOINC document code; the source
 * message id is the document id with setId and version; the source time is ClinicalDocument/effectiveTime.
 */
export const cdaFormat: FormatParser = {
  format: 'cda',
  envelope(raw: Buffer): Envelope {
    let facts;
    try {
      facts = readCdaHeaderFacts(decodeXmlHead(raw, ENVELOPE_HEAD_BYTES));
    } catch {
      return { routeKey: null, sourceMessageId: null, sourceTime: null, sendingApplication: null, sendingFacility: null };
    }
    return {
      routeKey: facts.code,
      sourceMessageId: cdaSourceMessageId(facts),
      sourceTime: facts.effectiveTime,
      sendingApplication: null,
      sendingFacility: null,
    };
  },
  parse(raw: Buffer, manifest: PluginManifest): ParsedDocument {
    return parseCda(raw, manifest);
  },
};
