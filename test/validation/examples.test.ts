/**
 * Validates the IG's own examples (shared/ig/fhir.rl/Examples/*.json, read from the shared folder when present)
 * and prints how many pass, with a categorised list of reasons for the others (kept in docs/validation.md).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadValidator, type ValidationIssue } from '../../core/validation/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
const DIR = path.join(SHARED, 'ig', 'fhir.rl', 'Examples');
const present = existsSync(DIR);
if (!present) process.stdout.write(`examples.test: ${DIR} not found; skipping the IG examples (set CDR_SHARED_DIR)\n`);

/** A reason category for one error issue. */
export function categorise(i: ValidationIssue): string {
  if (i.rule === 'unknown-profile') return 'declares a profile that is not built (PI/PIC/PLO/RSA/UDO or HL7 Italia lab-report)';
  if (/^Expected (single value|array of values)/.test(i.message)) return 'JSON shape: array where a single value is required or vice versa';
  if (/^Invalid (JSON type|\w+ format)|^Invalid additional property|String must contain/.test(i.message)) return 'primitive format / type or unknown property';
  if (i.rule === 'binding') return 'code not in a required value set';
  if (i.rule === 'fixed' || i.rule === 'pattern') return 'fixed/pattern value of the profile not respected';
  if (i.rule === 'slice-cardinality' || i.rule === 'slice-closed') return 'slice cardinality (missing or repeated slice)';
  if (i.rule === 'cardinality') return 'missing required element / too many values';
  if (i.rule === 'choice-type') return 'type not allowed for a narrowed choice';
  if (i.rule === 'reference-target') return 'reference to a resource type the profile does not allow';
  if (i.code === 'invariant') return `invariant ${i.rule ?? ''} violated`.trim();
  return `other (${i.code}${i.rule ? `/${i.rule}` : ''})`;
}

describe('IG examples (fhir.rl/Examples)', () => {
  const run = present ? it : it.skip;

  run('validates every example and reports a categorised reason for each failure', async () => {
    const validator = await loadValidator();
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThan(0);
    const rows: Array<{ file: string; valid: boolean; reasons: string[]; declared: string }> = [];
    const tally = new Map<string, number>();
    for (const file of files) {
      let resource: Record<string, unknown>;
      try {
        resource = JSON.parse(readFileSync(path.join(DIR, file), 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
      } catch {
        rows.push({ file, valid: false, reasons: ['not valid JSON'], declared: '' });
        tally.set('not valid JSON', (tally.get('not valid JSON') ?? 0) + 1);
        continue;
      }
      const result = validator.validate(resource);
      const errors = result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      expect(result.valid).toBe(errors.length === 0);
      const reasons = [...new Set(errors.map(categorise))].sort();
      for (const r of reasons) tally.set(r, (tally.get(r) ?? 0) + 1);
      const meta = resource.meta as { profile?: string[] } | undefined;
      rows.push({ file, valid: result.valid, reasons, declared: (meta?.profile ?? []).map((p) => p.split('/').pop()).join(', ') });
    }
    const passed = rows.filter((r) => r.valid).length;
    const known = rows.filter((r) => !r.reasons.some((x) => x.startsWith('declares a profile')));
    const lines = [
      `IG examples: ${passed}/${rows.length} pass; ${known.filter((r) => r.valid).length}/${known.length} of those whose declared profiles are all built (or that declare none)`,
      ...[...tally].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `  ${String(n).padStart(3)} example(s): ${reason}`),
      ...rows.map((r) => `  ${r.valid ? 'PASS' : 'FAIL'} ${r.file}${r.declared ? ` [${r.declared}]` : ''}${r.reasons.length ? ` — ${r.reasons.join('; ')}` : ''}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    // every failure is explained by at least one categorised error issue
    for (const r of rows) if (!r.valid) expect(r.reasons.length).toBeGreaterThan(0);
    expect(passed).toBeGreaterThan(0);
  });
});
