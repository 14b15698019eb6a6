import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deterministicId, enteOidArc, resolveSystem } from '../../mapping/functions/index.ts';
import { PLUGIN_FORMATS, pluginIdSchema, type PluginFormat } from '../manifest.ts';

/** Templates per format: a manifest, a sample, a starter mapping and its golden test (placeholders `{{name}}`). */
export const TEMPLATES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

export interface ScaffoldRequest {
  id: string;
  format: PluginFormat;
  ente: string;
  enteName: string;
  pluginsDir: string;
}

export interface ScaffoldResult {
  dir: string;
  files: string[];
}

/** A request that cannot be scaffolded (bad id, unknown format or Ente, existing folder): nothing was written. */
export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

function templateFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? templateFiles(path.join(dir, entry.name), path.join(prefix, entry.name)) : [path.join(prefix, entry.name)],
  );
}

/** The values the templates use; ids are computed with the same library functions the mapping calls. */
export function scaffoldValues(request: Omit<ScaffoldRequest, 'pluginsDir'>): Record<string, string> {
  const localIdSystem = resolveSystem('patientLocalId', 'rl', request.ente)!;
  const cfSystem = resolveSystem('codiceFiscale', 'rl', request.ente)!;
  const app = request.id.toUpperCase().replace(/-/g, '_').slice(0, 20);
  return {
    id: request.id,
    format: request.format,
    ente: request.ente,
    enteName: request.enteName,
    enteOid: enteOidArc(request.ente),
    app,
    facility: `ENTE_${request.ente}`,
    patientLocalIdSystem: localIdSystem,
    patientIdByLocalId: deterministicId(request.ente, 'Patient', [localIdSystem, 'PZ0000456']),
    patientIdByCodiceFiscale: deterministicId(request.ente, 'Patient', [cfSystem, 'RSSMRA80A01H501U']),
  };
}

function fill(text: string, values: Record<string, string>, file: string): string {
  const out = text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template ${file} uses an unknown placeholder ${whole}`);
    return value;
  });
  return out;
}

/**
 * Writes plugins/<id>/ from the format's template. Refuses to overwrite anything: an existing folder
 * is an error. The result passes `cdr plugin check <id>` as generated.
 */
export function scaffoldPlugin(request: ScaffoldRequest): ScaffoldResult {
  if (!(PLUGIN_FORMATS as readonly string[]).includes(request.format)) {
    throw new ScaffoldError(`--format must be one of ${PLUGIN_FORMATS.join(', ')} (got "${request.format}")`);
  }
  const idCheck = pluginIdSchema.safeParse(request.id);
  if (!idCheck.success) throw new ScaffoldError(`the plugin id "${request.id}" is not valid: ${idCheck.error.issues[0]?.message}`);
  const dir = path.join(request.pluginsDir, request.id);
  if (existsSync(dir)) throw new ScaffoldError(`${dir} already exists; choose another id or remove the folder`);

  const values = scaffoldValues(request);
  const templateDir = path.join(TEMPLATES_DIR, request.format);
  const files = templateFiles(templateDir).sort();
  // Render everything before writing anything, so a template defect leaves no half-made folder.
  const rendered = files.map((file) => ({ file, text: fill(readFileSync(path.join(templateDir, file), 'utf8'), values, file) }));
  for (const { file, text } of rendered) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return { dir, files };
}
