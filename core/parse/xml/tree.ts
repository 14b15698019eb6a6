import { ParseError } from '../../common/errors.ts';
import { localName, tokenizeXml, xmlError, type XmlDocumentInfo, type XmlElementEvent, type XmlLimits } from './tokenizer.ts';

/**
 * XML text → the JSON tree of docs/parsed-trees.md, in the tokenizer's single pass:
 * `{ "<root>": ... }`; attributes are plain keys (`@name` when a child element has the same name);
 * namespace prefixes and xmlns declarations are dropped; a text-only element is a string, text beside
 * attributes or children sits under `_`; nothing is converted (all values stay strings); names in
 * `arrays` are always arrays; "raw" elements (CDA narrative blocks) keep their content as written.
 */
export interface XmlTreeOptions extends XmlLimits {
  /** Local names that are always arrays. */
  arrays?: ReadonlySet<string>;
  /** Local names that are always arrays under the given parents only (CDA: effectiveTime in substanceAdministration). */
  arraysUnder?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Local names whose content is kept as the raw markup string, under the given parents (CDA: text in section). */
  rawUnder?: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface XmlTree {
  tree: Record<string, unknown>;
  info: XmlDocumentInfo;
}

type XmlObject = Record<string, unknown>;

interface Frame {
  name: string;
  obj: XmlObject | undefined;
  text: string;
  /** Keys of `obj` that hold attributes (to rename when a child of the same name arrives). */
  attributeKeys: Set<string> | undefined;
  /** Keys that became arrays because the element repeated. */
  repeated: Set<string> | undefined;
  raw: boolean;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY_PATTERN = /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z_][A-Za-z0-9._-]{0,31});/g;

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The five XML entities and character references; anything else stays as written (nothing is ever looked up). */
export function decodeXmlEntities(value: string): string {
  if (value.indexOf('&') < 0) return value;
  return value.replace(ENTITY_PATTERN, (whole, body: string) => {
    if (body.charCodeAt(0) === 0x23 /* # */) {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return isXmlChar(cp) ? String.fromCodePoint(cp) : whole;
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

function normalizeNewlines(value: string): string {
  return value.indexOf('\r') < 0 ? value : value.replace(/\r\n?/g, '\n');
}

/** Attribute values: entities decoded, white space characters as spaces (XML §3.3.3), trimmed. */
function attributeValue(raw: string): string {
  let value = decodeXmlEntities(raw);
  if (/[\t\n\r]/.test(value)) value = value.replace(/\r\n|[\t\n\r]/g, ' ');
  return value.trim();
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

function assertSafeKey(name: string, offset: number): void {
  if (name === '__proto__') throw xmlError('the name "__proto__" is not accepted', offset);
}

export function parseXmlTree(text: string, options: XmlTreeOptions): XmlTree {
  const arrays = options.arrays ?? new Set<string>();
  const arraysUnder = options.arraysUnder;
  const rawUnder = options.rawUnder;
  const frames: Frame[] = [{ name: '', obj: undefined, text: '', attributeKeys: undefined, repeated: undefined, raw: false }];
  let rawDepth = 0;

  const attach = (parent: Frame, name: string, value: unknown): void => {
    const obj = (parent.obj ??= {});
    if (parent.attributeKeys?.has(name)) {
      // An attribute and a child element share a name: the attribute moves to "@name".
      obj[`@${name}`] = obj[name];
      delete obj[name];
      parent.attributeKeys.delete(name);
    }
    const forceArray = arrays.has(name) || (arraysUnder?.get(name)?.has(parent.name) ?? false);
    const existing = obj[name];
    if (forceArray) {
      if (existing === undefined) obj[name] = [value];
      else (existing as unknown[]).push(value);
    } else if (existing === undefined) obj[name] = value;
    else if (parent.repeated?.has(name)) (existing as unknown[]).push(value);
    else {
      obj[name] = [existing, value];
      (parent.repeated ??= new Set()).add(name);
    }
  };

  const info = tokenizeXml(text, options, {
    wantAttributes: true,
    onOpen(event: XmlElementEvent, attributes: string[] | undefined) {
      if (rawDepth > 0) {
        rawDepth++;
        return;
      }
      const parent = frames[frames.length - 1]!;
      assertSafeKey(event.name, event.start);
      const frame: Frame = { name: event.name, obj: undefined, text: '', attributeKeys: undefined, repeated: undefined, raw: false };
      if (attributes && attributes.length > 0) {
        for (let a = 0; a < attributes.length; a += 2) {
          const qname = attributes[a]!;
          if (qname === 'xmlns' || qname.startsWith('xmlns:')) continue;
          const name = localName(qname);
          assertSafeKey(name, event.start);
          (frame.obj ??= {})[name] = attributeValue(attributes[a + 1]!);
          (frame.attributeKeys ??= new Set()).add(name);
        }
      }
      if (rawUnder?.get(event.name)?.has(parent.name)) {
        frame.raw = true;
        rawDepth = 1;
      }
      frames.push(frame);
    },
    onText(start: number, end: number) {
      if (rawDepth > 0) return;
      const frame = frames[frames.length - 1]!;
      // White space between child elements (indentation) only matters once there is text to separate.
      if (frame.text.length === 0 && isBlank(text, start, end)) return;
      frame.text += text.slice(start, end);
    },
    onCdata(start: number, end: number) {
      if (rawDepth > 0) return;
      frames[frames.length - 1]!.text += text.slice(start, end).replace(/&/g, '&#38;');
    },
    onClose(event: XmlElementEvent, closeStart: number) {
      if (rawDepth > 1) {
        rawDepth--;
        return;
      }
      const frame = frames.pop()!;
      let content: string;
      if (frame.raw) {
        rawDepth = 0;
        content = text.slice(event.contentStart, closeStart).trim();
      } else content = normalizeNewlines(decodeXmlEntities(frame.text)).trim();
      let value: unknown;
      if (frame.obj) {
        if (content.length > 0) frame.obj._ = content;
        value = frame.obj;
      } else value = content;
      if (frames.length === 1) frames[0]!.obj = { [event.name]: value };
      else attach(frames[frames.length - 1]!, event.name, value);
    },
  });
  const tree = frames[0]!.obj;
  if (!tree) throw new ParseError('the document has no root element', { code: 'PARSE_XML_NO_ROOT' });
  return { tree, info };
}
