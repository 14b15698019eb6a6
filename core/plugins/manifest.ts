import { z } from 'zod';
import { enteCodeSchema } from '../config/schema.ts';

export const PLUGIN_MANIFEST_FILE = 'plugin.json';

const routeSchema = z.object({
  /**
   * What the message is, as its format reports it: HL7 v2 message type ("ADT^A01", "ADT^*"),
   * CDA document code (LOINC, e.g. "11502-2"), or XML root/record element name. `*` matches anything.
   */
  match: z.string().min(1),
  /** JSONata file: relative to the repository's mappings/ folder, or to the plugin folder when it starts with "./". */
  mapping: z.string().min(1),
  description: z.string().optional(),
});

const hl7ParserSchema = z
  .object({
    encoding: z.enum(['auto', 'utf-8', 'latin1', 'iso-8859-15', 'windows-1252', 'ascii']).default('auto'),
    versions: z.array(z.string().regex(/^2\.\d(\.\d)?$/)).optional(),
  })
  .strict();

const xmlParserSchema = z
  .object({
    /** Element names that always parse as arrays (in addition to the format's defaults). */
    arrayElements: z.array(z.string()).optional(),
    /** For batch files: dotted path of the repeating record element, e.g. "TriageExport.Accesso". */
    recordPath: z.string().optional(),
    /** Namespace prefixes are removed; list the namespaces the documents are expected to use. */
    namespaces: z.record(z.string(), z.string()).optional(),
    maxDepth: z.number().int().positive().optional(),
  })
  .strict();

export const pluginManifestSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, 2-63 characters'),
    version: z.string().min(1),
    name: z.string().optional(),
    description: z.string().optional(),
    ente: enteCodeSchema,
    format: z.enum(['hl7v2', 'cda', 'xml']),
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
        xml: xmlParserSchema.optional(),
      })
      .strict()
      .prefault({}),
    routes: z.array(routeSchema).min(1),
    /** error: invalid output is dead-lettered (default); warn: stored with warnings in the trail. */
    validation: z.object({ policy: z.enum(['error', 'warn']).default('error') }).strict().prefault({}),
    /** ConceptMap JSON files (relative to the plugin folder) available to $translate. */
    conceptMaps: z.array(z.string()).default([]),
    /** TypeScript/JavaScript module exporting hooks (relative to the plugin folder). */
    hooks: z.string().optional(),
    /** Mapping engine: compiled JavaScript (default) or the JSONata interpreter. */
    mappingEngine: z.enum(['compiled', 'interpreter']).default('compiled'),
    enabled: z.boolean().default(true),
  })
  .strict();

export type PluginManifest = z.infer<typeof pluginManifestSchema>;
export type PluginRoute = z.infer<typeof routeSchema>;
export type PluginFormat = PluginManifest['format'];
