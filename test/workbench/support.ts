import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const PLUGIN = 'wb-demo-adt';
export const MAPPING = 'mappings/hl7v2/wb/patient.jsonata';
export const SAMPLE_FULL = `plugins/${PLUGIN}/samples/a01-full.hl7`;
export const SAMPLE_MINIMAL = `plugins/${PLUGIN}/samples/a01-minimal.hl7`;

/** A throw-away copy of test/workbench/fixtures (plugins/ and mappings/): tests write there, never in the repository. */
export interface WorkbenchTree {
  root: string;
  pluginsDir: string;
  mappingsDir: string;
  read(relative: string): string;
}

export function copyFixtures(): WorkbenchTree {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cdr-workbench-'));
  cpSync(FIXTURES, root, { recursive: true });
  return {
    root,
    pluginsDir: path.join(root, 'plugins'),
    mappingsDir: path.join(root, 'mappings'),
    read: (relative) => readFileSync(path.join(root, relative), 'utf8'),
  };
}

export function fixture(relative: string): string {
  return readFileSync(path.join(FIXTURES, relative), 'utf8');
}
