import { ParseError } from '../../common/errors.ts';
import type { PluginManifest } from '../../plugins/manifest.ts';
import type { Envelope, FormatParser, ParsedDocument } from '../types.ts';
import { decodeXmlHead } from './decode.ts';
import { readXmlDocument } from './read.ts';
import { splitXmlRecords } from './split.ts';
import { localName, rootNamespace, type XmlDocumentInfo } from './tokenizer.ts';

const ENVELOPE_HEAD_BYTES = 16 * 1024;

/** The name of the first element, skipping the prolog (declaration, comments, PIs, DOCTYPE). Never throws. */
export function firstElementName(text: string): string | null {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let guard = 0; guard < 1000; guard++) {
    const lt = text.indexOf('<', i);
    if (lt < 0) return null;
    if (text.startsWith('<?', lt)) i = text.indexOf('?>', lt + 2) + 2;
    else if (text.startsWith('<!--', lt)) i = text.indexOf('-->', lt + 4) + 3;
    else if (text.startsWith('<!DOCTYPE', lt)) {
      const subset = text.indexOf('[', lt);
      const close = text.indexOf('>', lt);
      i = subset >= 0 && subset < close ? text.indexOf('>', text.indexOf(']', subset)) + 1 : close + 1;
    } else {
      const match = /^<([A-Za-z_:\u0080-\uffff][\w.:\u0080-\uffff-]*)/.exec(text.slice(lt, lt + 256));
      return match ? localName(match[1]!) : null;
    }
    if (i <= 0) return null;
  }
  return null;
}

/** parser.xml.namespaces: when declared, the root element must be in one of them. */
export function checkRootNamespace(info: XmlDocumentInfo, expected: Record<string, string> | undefined): void {
  if (!expected || Object.keys(expected).length === 0) return;
  const actual = rootNamespace(info);
  const allowed = Object.values(expected);
  if (actual === undefined || !allowed.includes(actual)) {
    throw new ParseError(
      `the root element <${info.rootQName}> is ${actual ? `in the namespace "${actual}"` : 'in no namespace'}; the plugin expects ${allowed.map((u) => `"${u}"`).join(' or ')}`,
      { code: 'PARSE_XML_NAMESPACE', details: { namespace: actual ?? null } },
    );
  }
}

const arraySets = new WeakMap<readonly string[], ReadonlySet<string>>();
const NO_ARRAYS: ReadonlySet<string> = new Set();

function arraySet(names: readonly string[] | undefined): ReadonlySet<string> {
  if (!names) return NO_ARRAYS;
  let set = arraySets.get(names);
  if (!set) arraySets.set(names, (set = new Set(names)));
  return set;
}

/**
 * Proprietary XML (ARCHITECTURE §6): the tree of docs/parsed-trees.md, routed on the root element's
 * local name — which is the record element's name for the records of a split batch export.
 */
export const xmlFormat: FormatParser = {
  format: 'xml',
  envelope(raw: Buffer): Envelope {
    let routeKey: string | null = null;
    try {
      routeKey = firstElementName(decodeXmlHead(raw, ENVELOPE_HEAD_BYTES));
    } catch {
      routeKey = null;
    }
    return { routeKey, sourceMessageId: null, sourceTime: null, sendingApplication: null, sendingFacility: null };
  },
  parse(raw: Buffer, manifest: PluginManifest): ParsedDocument {
    const options = manifest.parser.xml;
    const { tree, info } = readXmlDocument(raw, {
      ...(options?.maxDepth ? { maxDepth: options.maxDepth } : {}),
      arrays: arraySet(options?.arrayElements),
    });
    checkRootNamespace(info, options?.namespaces);
    return { tree, routeKey: info.rootName, sourceMessageId: null, sourceTime: null };
  },
  split(raw: Buffer, manifest: PluginManifest): Buffer[] {
    const options = manifest.parser.xml;
    if (!options?.recordPath) return [raw];
    return splitXmlRecords(raw, options.recordPath, options.maxDepth);
  },
};
