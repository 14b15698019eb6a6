/**
 * Hostile XML: external entities (XXE), entity expansion bombs, external DTDs, deep nesting.
 * Each must end in a clear ParseError (stage parse, permanent, stable code) or parse without
 * expanding anything — quickly, without reading a file or the network.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ParseError } from '../../core/common/errors.ts';
import { cdaFormat, xmlFormat } from '../../core/parse/index.ts';
import { pluginManifestSchema } from '../../core/plugins/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
/** hapi-hl7v2's XXE fixture (MPL/GPL: read from the shared folder, never copied into the repository). */
const HAPI_XXE = path.join(SHARED, 'corpus', 'xml', 'hapi-hl7v2', 'xml-with-xxe.xml');

const xmlManifest = pluginManifestSchema.parse({ id: 'xml-test', version: '1', ente: '030903', format: 'xml', routes: [{ match: '*', mapping: 'x.jsonata' }] });
const cdaManifest = pluginManifestSchema.parse({ id: 'cda-test', version: '1', ente: '030903', format: 'cda', routes: [{ match: '*', mapping: 'x.jsonata' }] });

function parseFailure(run: () => unknown): ParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

/** Runs a parse, failing when it takes long (a bomb that expanded would). */
function timed<T>(run: () => T): { result: T | undefined; error: unknown; ms: number } {
  const started = performance.now();
  try {
    return { result: run(), error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { result: undefined, error, ms: performance.now() - started };
  }
}

const XXE = `<?xml version="1.0"?>
<!DOCTYPE r [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<r><v>&xxe;</v></r>`;

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`;

const QUADRATIC_BLOWUP = `<!DOCTYPE r [<!ENTITY a "${'x'.repeat(50_000)}">]><r>${'&a;'.repeat(10_000)}</r>`;

const PARAMETER_ENTITY = `<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]><r/>`;

describe('hostile XML', () => {
  it.each([
    ['an external entity (XXE)', XXE],
    ['the billion laughs', BILLION_LAUGHS],
    ['a quadratic blow-up', QUADRATIC_BLOWUP],
    ['a remote parameter entity', PARAMETER_ENTITY],
  ])('%s is refused before anything is expanded', (_name, xml) => {
    const { error, ms } = timed(() => xmlFormat.parse(Buffer.from(xml), xmlManifest));
    expect(error).toBeInstanceOf(ParseError);
    const parseError = error as ParseError;
    expect(parseError.code).toBe('PARSE_XML_ENTITY_DECLARATION');
    expect(parseError.stage).toBe('parse');
    expect(parseError.kind).toBe('permanent');
    expect(parseError.message).toMatch(/entities/);
    expect(ms).toBeLessThan(1000);
  });

  it('the same holds for a CDA document carrying a DOCTYPE with entities', () => {
    const cda = `<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/hostname">]><ClinicalDocument xmlns="urn:hl7-org:v3"><code code="11502-2"/><title>&x;</title></ClinicalDocument>`;
    expect(parseFailure(() => cdaFormat.parse(Buffer.from(cda), cdaManifest)).code).toBe('PARSE_XML_ENTITY_DECLARATION');
    // The envelope never throws and never resolves anything either.
    expect(cdaFormat.envelope(Buffer.from(cda)).routeKey).toBe('11502-2');
  });

  it('an external DTD without entity declarations is never fetched: the document parses as if it had none', () => {
    const xml = '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/never-fetched.dtd"><r><v>1</v></r>';
    const { result, error, ms } = timed(() => xmlFormat.parse(Buffer.from(xml), xmlManifest));
    expect(error).toBeUndefined();
    expect(result?.tree).toEqual({ r: { v: '1' } });
    expect(ms).toBeLessThan(1000);
  });

  it('an undeclared entity reference stays as written (nothing is looked up)', () => {
    expect(xmlFormat.parse(Buffer.from('<r>&passwd;</r>'), xmlManifest).tree).toEqual({ r: '&passwd;' });
  });

  it('deep nesting is refused at the depth limit, without exhausting the stack', () => {
    const depth = 200_000;
    const xml = `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
    const { error, ms } = timed(() => xmlFormat.parse(Buffer.from(xml), xmlManifest));
    expect((error as ParseError).code).toBe('PARSE_XML_TOO_DEEP');
    expect(ms).toBeLessThan(2000);
  });

  it('a huge attribute count or text does not blow up (linear work)', () => {
    const xml = `<r ${Array.from({ length: 20_000 }, (_, i) => `a${i}="${i}"`).join(' ')}>${'x'.repeat(2_000_000)}</r>`;
    const { error, ms } = timed(() => xmlFormat.parse(Buffer.from(xml), xmlManifest));
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(3000);
  });

  const sharedXxe = existsSync(HAPI_XXE) ? it : it.skip;
  if (!existsSync(HAPI_XXE)) process.stdout.write(`safety.test: ${HAPI_XXE} not found; skipping the shared XXE fixture (set CDR_SHARED_DIR)\n`);
  sharedXxe("the shared corpus XXE sample (hapi-hl7v2 xml-with-xxe.xml) is refused and /etc/passwd is never read", () => {
    const raw = readFileSync(HAPI_XXE);
    const error = parseFailure(() => xmlFormat.parse(raw, xmlManifest));
    expect(error.code).toBe('PARSE_XML_ENTITY_DECLARATION');
    expect(error.message).not.toMatch(/root:|nologin/);
    expect(xmlFormat.envelope(raw).routeKey).toBe('ADT_A01');
  });
});
