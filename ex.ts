import { readdirSync, readFileSync } from 'node:fs';
import { loadValidator } from './core/validation/index.ts';
const v = await loadValidator();
const dir = '/work/shared/ig/fhir.rl/Examples';
const counts = new Map<string, number>();
for (const f of readdirSync(dir).sort()) {
  let r; try { r = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8').replace(/^\uFEFF/, '')); } catch (e) { console.log(f, 'PARSE', String(e)); continue; }
  const res = v.validate(r);
  const errs = res.issues.filter(i => i.severity === 'error' || i.severity === 'fatal');
  console.log(res.valid ? 'PASS' : 'FAIL', f, r.resourceType, (r.meta?.profile ?? []).map((p: string) => p.split('/').pop()).join(','));
  for (const i of res.issues.filter(i=>i.severity!=='information').slice(0, 12)) console.log('   ', i.severity, i.code, i.rule, i.path, '|', i.message.slice(0, 160));
}
