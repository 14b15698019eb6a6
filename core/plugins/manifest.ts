import { z } from 'zod';
import { enteCodeSchema } from '../config/schema.ts';

export const PLUGIN_MANIFEST_FILE = 'plugin.json';
export const PLUGIN_FORMATS = ['hl7v2', 'cda', 'xml'] as const;

const routeSchema = z
  .object({
    /**
     * What the message is, as its format reports it: HL7 v2 message type ("ADT^A01", "ADT^*"),
     * CDA document code (LOINC, e.g. "11502-2"), or XML root/record element name. `*` matches anything.
     * Routes are tried in order; the first match wins.
     */
    match: z.string().min(1),
    /** JSONata file: relative to the repository's mappings/ folder, or to the plugin folder when it starts with "./". */
    mapping: z.string().min(1).regex(/\.jsonata$/, 'must name a .jsonata file'),
    description: z.string().optional(),
  })
  .strict();

const hl7ParserSchema = z
  .object({
    /** Character set of the bytes: "auto" follows MSH-18 (e.g. "8859/1" → Latin-1) and defaults to UTF-8. */
    encoding: z.enum(['auto', 'utf-8', 'latin1', 'iso-8859-15', 'windows-1252', 'ascii']).default('auto'),
    /** MSH-12 versions accepted (version tolerance); unset: every version 2.1–2.8.2. Anything else is a parse error. */
    versions: z.array(z.string().regex(/^2\.\d(\.\d)?$/, 'an HL7 v2 version such as "2.5" or "2.3.1"')).min(1).optional(),
  })
  .strict();

/** Options of the XML-based formats: proprietary XML and CDA2 (docs/parsed-trees.md). */
const xmlParserSchema = z
  .object({
    /** Element names that always parse as arrays (in addition to the format's defaults). */
    arrayElements: z.array(z.string().min(1)).optional(),
    /** For batch files (format xml): dotted path of the repeating record element, e.g. "TriageExport.Accesso". */
    recordPath: z.string().regex(/^[^.\s]+(\.[^.\s]+)+$/, 'a dotted element path from the root, e.g. "Export.Record"').optional(),
    /** Namespace prefixes are removed; list the namespaces the documents are expected to use (prefix → URI). */
    namespaces: z.record(z.string(), z.string()).optional(),
    maxDepth: z.number().int().positive().optional(),
  })
  .strict();

/** Plugin ids name folders, URLs (/ingest/:pluginId) and log fields: kept to a safe alphabet. */
export const pluginIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, 2-63 characters');

export const pluginManifestSchema = z
  .object({
    id: pluginIdSchema,
    version: z.string().min(1),
    name: z.string().optional(),
    description: z.string().optional(),
    /** The Ente whose partition this source feeds (a code of config/default.json `enti`). */
    ente: enteCodeSchema,
    format: z.enum(PLUGIN_FORMATS),
    /** How MLLP and file-drop input find this plugin: MSH-3 / MSH-4 values. */
    source: z
      .object({
        sendingApplication: z.string().optional(),
        sendingFacility: z.string().optional(),
      })
      .strict()
      .optional(),
    timeZone: z.string().default('Europe/Rome'),
    parser: z
      .object({
        hl7v2: hl7ParserSchema.optional(),
        /** For formats cda and xml. */
        xml: xmlParserSchema.optional(),
      })
      .strict()
      .prefault({}),
    routes: z.array(routeSchema).min(1),
    /** error: invalid output is dead-lettered (default); warn: stored with warnings in the trail. */
    validation: z.object({ policy: z.enum(['error', 'warn']).default('error') }).strict().prefault({}),
    /** ConceptMap JSON files (relative to the plugin folder) available to $translate. */
    conceptMaps: z.array(z.string().min(1)).default([]),
    /** TypeScript/JavaScript module exporting hooks (relative to the plugin folder). */
    hooks: z.string().min(1).optional(),
    /** Time limit of each hook call; a hook over it dead-letters the message at stage "hook". */
    hookTimeoutMs: z.number().int().positive().max(60_000).default(5_000),
    /** Mapping engine: compiled JavaScript (default) or the JSONata interpreter. */
    mappingEngine: z.enum(['compiled', 'interpreter']).default('compiled'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    // Options for another format are a mistake (usually a copied manifest), not something to ignore silently.
    if (manifest.parser.hl7v2 && manifest.format !== 'hl7v2') {
      ctx.addIssue({ code: 'custom', path: ['parser', 'hl7v2'], message: `HL7 v2 parser options do not apply to a ${manifest.format} plugin` });
    }
    if (manifest.parser.xml && manifest.format === 'hl7v2') {
      ctx.addIssue({ code: 'custom', path: ['parser', 'xml'], message: 'XML parser options do not apply to an hl7v2 plugin' });
    }
    if (manifest.parser.xml?.recordPath && manifest.format !== 'xml') {
      ctx.addIssue({ code: 'custom', path: ['parser', 'xml', 'recordPath'], message: 'recordPath (batch splitting) applies to format "xml" only' });
    }
    const seen = new Map<string, number>();
    manifest.routes.forEach((route, index) => {
      const earlier = seen.get(route.match);
      if (earlier !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'match'], message: `"${route.match}" is already matched by routes[${earlier}]: this route is never used` });
      } else seen.set(route.match, index);
    });
    const maps = new Set<string>();
    manifest.conceptMaps.forEach((file, index) => {
      if (maps.has(file)) ctx.addIssue({ code: 'custom', path: ['conceptMaps', index], message: `${file} is listed twice` });
      maps.add(file);
    });
  });

export type PluginManifest = z.infer<typeof pluginManifestSchema>;
/** The manifest as written in plugin.json (defaults not applied yet). */
export type PluginManifestInput = z.input<typeof pluginManifestSchema>;
export type PluginRoute = z.infer<typeof routeSchema>;
export type PluginFormat = PluginManifest['format'];
