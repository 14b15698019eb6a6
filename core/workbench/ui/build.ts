/**
 * Bundles the workbench page script (ui/main.ts + CodeMirror 6) into ui/workbench.bundle.js with esbuild.
 *   npm run workbench:build            writes the bundle (commit it)
 *   buildWorkbenchBundle({ write: false }) returns the text (the test that checks the committed bundle is current)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const UI_DIR = path.dirname(fileURLToPath(import.meta.url));

export async function buildWorkbenchBundle(options: { write: boolean }): Promise<string> {
  const result = await build({
    entryPoints: [path.join(UI_DIR, 'main.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    legalComments: 'eof',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
    outfile: path.join(UI_DIR, 'workbench.bundle.js'),
  });
  const file = result.outputFiles[0]!;
  if (options.write) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
  return file.text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await buildWorkbenchBundle({ write: true });
  process.stdout.write(`wrote core/workbench/ui/workbench.bundle.js (${Math.round(text.length / 1024)} KiB)\n`);
}
