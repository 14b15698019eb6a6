import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';

/** A throw-away plugins/ folder; plugins are written into it as fixtures, nothing touches the repository. */
export interface FixturePlugins {
  dir: string;
  write(id: string, manifest: Record<string, unknown>, files?: Record<string, string>): string;
  cleanup(): void;
}

export function fixturePlugins(): FixturePlugins {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-plugins-'));
  return {
    dir,
    write(id, manifest, files = {}) {
      const pluginDir = path.join(dir, id);
      mkdirSync(pluginDir, { recursive: true });
      writeFileSync(path.join(pluginDir, 'plugin.json'), JSON.stringify(manifest, null, 2));
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(pluginDir, file)), { recursive: true });
        writeFileSync(path.join(pluginDir, file), content);
      }
      return pluginDir;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A valid HL7 v2 ADT manifest using the repository's ADT mapping; override what a test needs. */
export function adtManifest(id: string, ente: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    version: '1.0.0',
    ente,
    format: 'hl7v2',
    routes: [{ match: 'ADT^*', mapping: 'hl7v2/adt/patient-encounter.jsonata' }],
    ...overrides,
  };
}

export const REPO_MAPPINGS = path.join(REPO_ROOT, 'mappings');

/** Copies the reference ADT mapping into a plugin folder (for plugin-local mapping fixtures). */
export function copyAdtMapping(pluginDir: string, name = 'mappings/adt.jsonata'): void {
  mkdirSync(path.dirname(path.join(pluginDir, name)), { recursive: true });
  cpSync(path.join(REPO_MAPPINGS, 'hl7v2', 'adt', 'patient-encounter.jsonata'), path.join(pluginDir, name));
}
