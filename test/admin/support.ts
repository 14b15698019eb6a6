import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildOpenApiDocument } from '../../core/admin/openapi.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import type { FixtureTree } from '../support/fixture-plugins.ts';
import { TEST_ADMIN_TOKEN } from '../support/engine.ts';

export const PLUGIN = 'asst-demo-nord-adt';
/** A copy of the reference plugin feeding the second Ente, for cross-Ente checks. */
export const OTHER_PLUGIN = 'asst-demo-brianza-adt';
export const CF_SYSTEM = 'http://hl7.it/sid/codiceFiscale';

const document = buildOpenApiDocument();
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }));
ajv.addSchema(document as unknown as Record<string, unknown>, 'openapi.json');

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const templates = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The documented path template a concrete path matches (the most specific: fewest parameters). */
export function templateOf(concretePath: string): string | undefined {
  const matches = templates.filter((t) => t.pattern.test(concretePath));
  matches.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  return matches[0]?.template;
}

export const checkedResponses = new Set<string>();

/** Fails when the response's status is not documented for the route, or its JSON body does not match the schema. */
export function expectMatchesOpenApi(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
  const concrete = new URL(url, 'http://x').pathname;
  const template = templateOf(concrete);
  if (!template) throw new Error(`${method} ${concrete} is not in the OpenAPI document`);
  const operation = document.paths[template]![method.toLowerCase()] as { responses: Record<string, { content?: Record<string, unknown> }> } | undefined;
  if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  const response = operation.responses[String(status)];
  if (!response) throw new Error(`${method} ${template} answered ${status}, which the OpenAPI document does not list (${Object.keys(operation.responses).join(', ')})`);
  checkedResponses.add(`${method.toUpperCase()} ${template} ${status}`);
  if (!response.content || !contentType?.includes('json')) return;
  const mediaType = Object.keys(response.content)[0]!;
  const pointer = `openapi.json#/paths/${escapePointer(template)}/${method.toLowerCase()}/responses/${status}/content/${escapePointer(mediaType)}/schema`;
  const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
  if (!validate(body)) {
    throw new Error(`${method} ${template} ${status}: the body does not match the OpenAPI schema: ${ajv.errorsText(validate.errors, { separator: '\n  ' })}\nbody: ${JSON.stringify(body).slice(0, 800)}`);
  }
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** fetch + JSON + OpenAPI check of every answer. */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  pathAndQuery: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<CallResult<T>> {
  const token = options.token === undefined ? TEST_ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.headers ?? {}) };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${pathAndQuery}`, { method, headers, body, redirect: 'manual' });
  const contentType = response.headers.get('content-type');
  const text = await response.text();
  const parsed = contentType?.includes('json') && text ? (JSON.parse(text) as T) : (text as unknown as T);
  expectMatchesOpenApi(method, pathAndQuery, response.status, contentType, parsed);
  return { status: response.status, body: parsed, headers: response.headers };
}

/** An ADT^A01 of the reference plugin with its own control id, visit number and (optionally) codice fiscale. */
export function admission(tree: FixtureTree, n: number, options: { pluginId?: string; cf?: string } = {}): Buffer {
  const sample = readFileSync(path.join(tree.pluginsDir, PLUGIN, 'samples', 'adt-a01.hl7'), 'utf8');
  let text = sample.replace('MSG-A01-0001', `ADM-${n}`).replace('NOS-2024-000123', `NOS-ADM-${n}`);
  if (options.cf) text = text.replace('RSSMRA80A01H501U', options.cf);
  if (options.pluginId === OTHER_PLUGIN) text = text.replace('ADT_DEMO|ASST_DEMO_NORD', 'ADT_BRIANZA|ASST_DEMO_BRIANZA');
  return Buffer.from(text);
}

/** Adds a copy of the reference plugin that feeds Ente 030902. */
export function addOtherEntePlugin(tree: FixtureTree): void {
  const manifest = JSON.parse(readFileSync(path.join(tree.pluginsDir, PLUGIN, 'plugin.json'), 'utf8')) as Record<string, unknown>;
  tree.write(`plugins/${OTHER_PLUGIN}/plugin.json`, JSON.stringify({
    ...manifest, id: OTHER_PLUGIN, ente: '030902', name: 'ASST Demo Brianza — ADT (test copy)',
    source: { sendingApplication: 'ADT_BRIANZA', sendingFacility: 'ASST_DEMO_BRIANZA' },
  }, null, 2));
}

export const MAPPING_FILE = 'mappings/hl7v2/adt/patient-encounter.jsonata';

export function originalMapping(): string {
  return readFileSync(path.join(REPO_ROOT, MAPPING_FILE), 'utf8');
}

export async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
