import { readFileSync } from 'node:fs';
import { BUNDLE_FILE } from '../../core/workbench/page.ts';
import { buildWorkbenchBundle } from '../../core/workbench/ui/build.ts';

/** The page script is committed (a fresh clone serves it without a build); it must be the build of its sources. */
test('the committed workbench bundle is the build of core/workbench/ui/main.ts (run "npm run workbench:build")', async () => {
  const built = await buildWorkbenchBundle({ write: false });
  expect(readFileSync(BUNDLE_FILE, 'utf8') === built).toBe(true);
  expect(built).toContain('cdr-workbench-token');
}, 60_000);
