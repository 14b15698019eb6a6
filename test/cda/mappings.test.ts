/**
 * The three CDA mappings share their header block (patient, organization, practitioners, encounter,
 * composition, document reference): JSONata has no includes, so the block is copied and must stay
 * identical. Their golden cases run in test/mappings/golden.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../core/config/index.ts';

const FILES = ['lab/referto-laboratorio.jsonata', 'ldo/lettera-dimissione.jsonata', 'vps/verbale-pronto-soccorso.jsonata'];
const START = '/* ==== CDA header';
const END = '/* ==== end of the CDA header block ==== */';

function headerBlock(file: string): string {
  const source = readFileSync(path.join(REPO_ROOT, 'mappings', 'cda', file), 'utf8');
  const start = source.indexOf(START);
  const end = source.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file}: the CDA header block markers are missing`);
  return source.slice(start, end);
}

describe('CDA mappings', () => {
  it('share an identical header block', () => {
    const [first, ...others] = FILES.map(headerBlock);
    expect(first!.length).toBeGreaterThan(1000);
    for (const [index, other] of others.entries()) {
      expect({ file: FILES[index + 1], block: other }).toEqual({ file: FILES[index + 1], block: first });
    }
  });
});
