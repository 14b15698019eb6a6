/**
 * Self time per function (and per file) of a V8 CPU profile, e.g. the ones
 * `CDR_BENCH_PROFILE=DIR npm run bench -- --only e2e` leaves in DIR.
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [top]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const short = url.replace(/^file:\/\/.*?\/(node_modules|core|bench)\//, '$1/');
  fn.set(`${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`, (fn.get(`${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`) ?? 0) + us);
  const group = short.startsWith('node_modules/') ? short.split('/').slice(0, short.startsWith('node_modules/@') ? 3 : 2).join('/') : short || functionName;
  files.set(group, (files.get(group) ?? 0) + us);
}
const top = Number(topArg ?? 30);
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title} (total ${(total / 1e6).toFixed(1)} s)\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}\n`);
  }
};
print('self time by file / package', files);
print('self time by function', fn);
