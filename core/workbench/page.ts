import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The workbench page: ui/index.html, ui/workbench.css and the script bundled from ui/main.ts by
 * esbuild into ui/workbench.bundle.js. The bundle is committed (rebuilt by `npm run workbench:build`;
 * a test checks it matches its sources), so a fresh clone serves the page after `npm ci` with no build
 * step and no network.
 */
export const UI_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ui');
export const BUNDLE_FILE = path.join(UI_DIR, 'workbench.bundle.js');

const ASSETS: Record<string, { file: string; contentType: string }> = {
  'workbench.js': { file: BUNDLE_FILE, contentType: 'text/javascript; charset=utf-8' },
  'workbench.css': { file: path.join(UI_DIR, 'workbench.css'), contentType: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

function read(file: string): Buffer {
  let body = cache.get(file);
  if (!body) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run workbench:build"`);
    body = readFileSync(file);
    cache.set(file, body);
  }
  return body;
}

export function workbenchPage(nonce: string): string {
  return read(path.join(UI_DIR, 'index.html')).toString('utf8').replaceAll('{{nonce}}', nonce);
}

export function workbenchAsset(name: string): { body: Buffer; contentType: string } | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  return asset ? { body: read(asset.file), contentType: asset.contentType } : undefined;
}
