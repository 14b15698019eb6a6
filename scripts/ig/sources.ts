/**
 * Collects the StructureDefinitions the build needs from the shared IG folders: the RL profiles to build
 * (CORE + LAB/LDO/MP/DDC/DOC) and every extension definition that could be referenced (RL folders and HL7 Italia base).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readJson, requireDir, sha256, type StructureDefinition } from './common.ts';
import { readFileSync } from 'node:fs';

export interface SourceSd {
  sd: StructureDefinition;
  /** path relative to the shared folder, e.g. `ig/fhir.rl/CORE/Profile_RL_Patient_Core.json` */
  file: string;
  sha256: string;
  /** true for the profiles the build must produce (not only dependencies) */
  target: boolean;
}

export const TARGET_FOLDERS = ['CORE', 'LAB', 'LDO', 'MP', 'DDC', 'DOC'];

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listJson(full));
    else if (name.endsWith('.json')) out.push(full);
  }
  return out;
}

export function collectStructureDefinitions(shared: string): SourceSd[] {
  const rl = requireDir(path.join(shared, 'ig', 'fhir.rl'), 'RL IG (fhir.rl)');
  const itBase = path.join(shared, 'ig', 'hl7.fhir.it.base', 'no-fsh', 'input', 'extensions');
  const files = [...listJson(rl).filter((f) => !f.includes(`${path.sep}Examples${path.sep}`))];
  try {
    files.push(...listJson(itBase));
  } catch {
    // HL7 Italia base is optional: only its extensions are used
  }
  const out: SourceSd[] = [];
  for (const file of files) {
    const raw = readFileSync(file);
    let sd: StructureDefinition;
    try {
      sd = readJson<StructureDefinition>(file);
    } catch {
      continue;
    }
    if (sd?.resourceType !== 'StructureDefinition') continue;
    const rel = path.relative(shared, file);
    const folder = path.relative(rl, file).split(path.sep)[0];
    const target = rel.startsWith(path.join('ig', 'fhir.rl')) && TARGET_FOLDERS.includes(folder) && sd.kind === 'resource';
    out.push({ sd, file: rel.split(path.sep).join('/'), sha256: sha256(raw), target });
  }
  return out;
}
