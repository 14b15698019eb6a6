import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';

/**
 * A throw-away copy of the repository's plugins/ and mappings/ folders, so a test can break or fix
 * a plugin without touching the repository.
 */
export interface FixtureTree {
  root: string;
  pluginsDir: string;
  mappingsDir: string;
  write(relativePath: string, content: string): void;
}

export function copyPluginTree(): FixtureTree {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cdr-plugins-'));
  const pluginsDir = path.join(root, 'plugins');
  const mappingsDir = path.join(root, 'mappings');
  cpSync(path.join(REPO_ROOT, 'plugins'), pluginsDir, { recursive: true });
  cpSync(path.join(REPO_ROOT, 'mappings'), mappingsDir, { recursive: true });
  return {
    root,
    pluginsDir,
    mappingsDir,
    write(relativePath: string, content: string) {
      const full = path.join(root, relativePath);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
    },
  };
}
