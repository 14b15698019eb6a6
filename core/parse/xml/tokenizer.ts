import { ParseError } from '../../common/errors.ts';

/**
 * One bounded pass over an XML document, reporting elements, attributes and character data to a
 * handler. It is the whole of the engine's XML reading (tree building and batch splitting sit on it):
 *  - well-formed structure is enforced: mismatched or missing end tags, a document cut off in the
 *    middle, text or a second element outside the root are errors, never half a document;
 *  - nothing is ever fetched or expanded: a DOCTYPE that declares entities is refused outright
 *    (XXE, "billion laughs"), a DOCTYPE without them is skipped; only the five XML entities and
 *    character references are decoded (by the tree builder);
 *  - nesting depth is bounded.
 * Errors are ParseError (stage parse, permanent) with a stable code: PARSE_XML_MALFORMED,
 * PARSE_XML_TRUNCATED, PARSE_XML_TOO_DEEP, PARSE_XML_ENTITY_DECLARATION, PARSE_XML_NO_ROOT.
 */
export interface XmlLimits {
  maxDepth: number;
}

export interface XmlElementEvent {
  /** Local name (namespace prefix removed). */
  name: string;
  /** Qualified name as written. */
  qname: string;
  /** 1 = the root element. */
  depth: number;
  /** Offset of the '<' of the start tag. */
  start: number;
  /** Offset just past the '>' of the start tag. */
  contentStart: number;
}

export interface XmlHandler {
  /** Called for every start tag (and empty-element tag); `attributes` is [qname, raw value, ...] when wantAttributes is set. */
  onOpen?(event: XmlElementEvent, attributes: string[] | undefined): void;
  /** `closeStart` is the offset of '</' (= contentStart for an empty-element tag); `end` is just past the final '>'. */
  onClose?(event: XmlElementEvent, closeStart: number, end: number): void;
  /** Character data between tags, as written (entities not decoded). */
  onText?(start: number, end: number): void;
  /** The content of a CDATA section. */
  onCdata?(start: number, end: number): void;
  wantAttributes?: boolean;
}

export interface XmlDocumentInfo {
  rootName: string;
  rootQName: string;
  /** Namespace declarations on the root start tag: prefix ('' = default) → URI. */
  rootNamespaces: Record<string, string>;
  maxDepth: number;
  elements: number;
}

export function xmlError(message: string, offset: number, code = 'PARSE_XML_MALFORMED'): ParseError {
  return new ParseError(`${message} (at character ${offset})`, { code, details: { offset } });
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** XML name characters, approximated: ASCII letters, digits, `_ : . -` and any non-ASCII character. */
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2e || c === 0x2d || c >= 0x80;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
}

export function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/** Skips a DOCTYPE declaration; refuses entity declarations (the only way anything could expand). */
function skipDoctype(text: string, start: number): number {
  const n = text.length;
  let bracket = 0;
  let quote = 0;
  for (let i = start + 9; i < n; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
      continue;
    }
    if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x5b) bracket++;
    else if (c === 0x5d) bracket--;
    else if (c === 0x3c && bracket > 0) {
      if (text.startsWith('<!ENTITY', i)) {
        throw xmlError(
          'the DOCTYPE declares entities, which are refused: they can read local files (XXE) or expand without bound ("billion laughs")',
          i,
          'PARSE_XML_ENTITY_DECLARATION',
        );
      }
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) break;
        i = end + 2;
      }
    } else if (c === 0x3e && bracket <= 0) return i + 1;
  }
  throw xmlError('the DOCTYPE declaration is not closed', start, 'PARSE_XML_TRUNCATED');
}

export function tokenizeXml(text: string, limits: XmlLimits, handler: XmlHandler = {}): XmlDocumentInfo {
  const n = text.length;
  const stack: XmlElementEvent[] = [];
  const wantAttributes = handler.wantAttributes === true;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let root: XmlElementEvent | undefined;
  const rootNamespaces: Record<string, string> = {};
  let rootClosed = false;
  let maxDepth = 0;
  let elements = 0;
  let nextLessThan = 0;

  while (i < n) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      if (stack.length === 0) {
        for (let k = i; k < textEnd; k++) {
          if (!isSpace(text.charCodeAt(k))) throw xmlError('text outside the root element', k);
        }
      } else handler.onText?.(i, textEnd);
    }
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);

    if (next === 0x21 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const end = text.indexOf('-->', lt + 4);
        if (end < 0) throw xmlError('a comment is not closed', lt, 'PARSE_XML_TRUNCATED');
        i = end + 3;
      } else if (text.startsWith('<![CDATA[', lt)) {
        if (stack.length === 0) throw xmlError('CDATA outside the root element', lt);
        const end = text.indexOf(']]>', lt + 9);
        if (end < 0) throw xmlError('a CDATA section is not closed', lt, 'PARSE_XML_TRUNCATED');
        handler.onCdata?.(lt + 9, end);
        i = end + 3;
      } else if (text.startsWith('<!DOCTYPE', lt)) {
        if (root) throw xmlError('a DOCTYPE after the root element', lt);
        i = skipDoctype(text, lt);
      } else if (['<!--', '<![CDATA[', '<!DOCTYPE'].some((opening) => opening.startsWith(text.slice(lt)))) {
        throw xmlError('the document ends inside a declaration', lt, 'PARSE_XML_TRUNCATED');
      } else throw xmlError('unexpected "<!"', lt);
      continue;
    }

    if (next === 0x3f /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) throw xmlError('a processing instruction is not closed', lt, 'PARSE_XML_TRUNCATED');
      i = end + 2;
      continue;
    }

    if (next === 0x2f /* / */) {
      const end = text.indexOf('>', lt + 2);
      if (end < 0) throw xmlError('an end tag is not closed', lt, 'PARSE_XML_TRUNCATED');
      let nameEnd = end;
      while (nameEnd > lt + 2 && isSpace(text.charCodeAt(nameEnd - 1))) nameEnd--;
      const qname = text.slice(lt + 2, nameEnd);
      const open = stack.pop();
      if (!open) throw xmlError(`end tag </${qname}> without a start tag`, lt);
      if (open.qname !== qname) throw xmlError(`end tag </${qname}> does not match <${open.qname}> opened at character ${open.start}`, lt);
      handler.onClose?.(open, lt, end + 1);
      if (stack.length === 0) rootClosed = true;
      i = end + 1;
      continue;
    }

    // Start tag or empty-element tag. Running out of input anywhere inside it means the document was cut.
    if (lt + 1 >= n) throw xmlError('the document ends inside a tag', lt, 'PARSE_XML_TRUNCATED');
    if (!isNameStart(next)) throw xmlError('"<" is not followed by an element name', lt);
    let j = lt + 2;
    while (j < n && isNameChar(text.charCodeAt(j))) j++;
    const qname = text.slice(lt + 1, j);
    const isRoot = stack.length === 0;
    const attributes: string[] | undefined = wantAttributes || isRoot ? [] : undefined;
    let selfClosing = false;
    for (;;) {
      const attributeStart = j;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j >= n) throw xmlError(`the start tag <${qname}> is not closed`, lt, 'PARSE_XML_TRUNCATED');
      const c = text.charCodeAt(j);
      if (c === 0x3e /* > */) {
        j++;
        break;
      }
      if (c === 0x2f /* / */) {
        if (j + 1 >= n) throw xmlError(`the start tag <${qname}> is not closed`, lt, 'PARSE_XML_TRUNCATED');
        if (text.charCodeAt(j + 1) !== 0x3e) throw xmlError(`malformed empty-element tag <${qname}/>`, j);
        selfClosing = true;
        j += 2;
        break;
      }
      if (j === attributeStart || !isNameStart(c)) throw xmlError(`malformed attribute in <${qname}>`, j);
      const nameStart = j;
      while (j < n && isNameChar(text.charCodeAt(j))) j++;
      const nameEnd = j;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j >= n) throw xmlError(`the start tag <${qname}> is not closed`, lt, 'PARSE_XML_TRUNCATED');
      if (text.charCodeAt(j) !== 0x3d /* = */) throw xmlError(`attribute without "=" in <${qname}>`, j);
      j++;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j >= n) throw xmlError(`the start tag <${qname}> is not closed`, lt, 'PARSE_XML_TRUNCATED');
      const quote = text.charCodeAt(j);
      if (quote !== 0x22 && quote !== 0x27) throw xmlError(`attribute value without quotes in <${qname}>`, j);
      const close = text.indexOf(quote === 0x22 ? '"' : "'", j + 1);
      if (close < 0) throw xmlError(`an attribute value in <${qname}> is not closed`, j, 'PARSE_XML_TRUNCATED');
      // The next '<' is cached: searching from each attribute would be quadratic in a hostile tag.
      if (nextLessThan !== -1 && nextLessThan <= j) nextLessThan = text.indexOf('<', j + 1);
      const lessThan = nextLessThan;
      if (lessThan >= 0 && lessThan < close) throw xmlError(`"<" inside an attribute value of <${qname}>`, lessThan);
      attributes?.push(text.slice(nameStart, nameEnd), text.slice(j + 1, close));
      j = close + 1;
    }
    if (isRoot) {
      if (root || rootClosed) throw xmlError(`a second root element <${qname}>`, lt);
      for (let a = 0; a < attributes!.length; a += 2) {
        const name = attributes![a]!;
        if (name === 'xmlns') rootNamespaces[''] = attributes![a + 1]!;
        else if (name.startsWith('xmlns:')) rootNamespaces[name.slice(6)] = attributes![a + 1]!;
      }
    }
    const event: XmlElementEvent = { name: localName(qname), qname, depth: stack.length + 1, start: lt, contentStart: j };
    if (event.depth > limits.maxDepth) {
      throw xmlError(`elements are nested deeper than the limit of ${limits.maxDepth}`, lt, 'PARSE_XML_TOO_DEEP');
    }
    if (isRoot) root = event;
    if (event.depth > maxDepth) maxDepth = event.depth;
    elements++;
    handler.onOpen?.(event, wantAttributes ? attributes : undefined);
    if (selfClosing) {
      handler.onClose?.(event, j, j);
      if (stack.length === 0) rootClosed = true;
    } else stack.push(event);
    i = j;
  }

  if (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    throw xmlError(`the document ends before <${open.qname}> (opened at character ${open.start}) is closed: truncated?`, n, 'PARSE_XML_TRUNCATED');
  }
  if (!root) throw xmlError('the document has no root element', 0, 'PARSE_XML_NO_ROOT');
  return { rootName: root.name, rootQName: root.qname, rootNamespaces, maxDepth, elements };
}

/** The namespace URI of the root element, from the declarations on its start tag. */
export function rootNamespace(info: XmlDocumentInfo): string | undefined {
  const colon = info.rootQName.indexOf(':');
  return info.rootNamespaces[colon < 0 ? '' : info.rootQName.slice(0, colon)];
}
