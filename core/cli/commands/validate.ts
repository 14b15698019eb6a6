/**
 * `npx cdr validate FILE [--profile URL] [--json]`: validate a FHIR resource or Bundle against the IG profiles.
 * Exit code 0 valid, 1 invalid, 2 error (unreadable file, not JSON, unknown --profile, missing IG data).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadValidator, toOperationOutcome, type ValidationIssue, type ValidationResult } from '../../validation/index.ts';

export interface ValidateCommandOptions {
  profile?: string;
  json?: boolean;
  igDir?: string;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function formatIssue(i: ValidationIssue): string {
  const rule = i.rule ? ` [${i.rule}]` : '';
  return `  ${i.severity.padEnd(11)} ${i.path || '(root)'}  ${i.code}: ${i.message}${rule}\n`;
}

export function formatResult(file: string, result: ValidationResult): string {
  const count = (s: string): number => result.issues.filter((i) => i.severity === s).length;
  const errors = count('error') + count('fatal');
  const head = `${file}: ${result.valid ? 'VALID' : 'INVALID'} (${errors} error(s), ${count('warning')} warning(s), ${count('information')} information)\n`;
  const order = { fatal: 0, error: 1, warning: 2, information: 3 } as const;
  const sorted = [...result.issues].sort((a, b) => order[a.severity] - order[b.severity]);
  return head + sorted.map(formatIssue).join('');
}

/** Runs the command; returns the exit code (the CLI sets process.exitCode from it). */
export async function runValidate(file: string, options: ValidateCommandOptions, io: CliIo = stdio): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    io.err(`cdr validate: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  let resource: unknown;
  try {
    resource = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    io.err(`cdr validate: ${file} is not JSON: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (!resource || typeof resource !== 'object' || Array.isArray(resource) || typeof (resource as Record<string, unknown>).resourceType !== 'string') {
    io.err(`cdr validate: ${file} is not a FHIR resource (no resourceType)\n`);
    return 2;
  }
  let validator;
  try {
    validator = await loadValidator(options.igDir ? { igDir: options.igDir } : undefined);
  } catch (e) {
    io.err(`cdr validate: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (options.profile && !validator.hasProfile(options.profile) && !options.profile.startsWith('http://hl7.org/fhir/StructureDefinition/')) {
    io.err(`cdr validate: unknown profile ${options.profile}; known profiles:\n${validator.knownProfiles().map((p) => `  ${p}\n`).join('')}`);
    return 2;
  }
  const result = validator.validate(resource as Record<string, unknown>, options.profile ? { profile: options.profile } : undefined);
  if (options.json) io.out(`${JSON.stringify(toOperationOutcome(result), null, 2)}\n`);
  else io.out(formatResult(file, result));
  return result.valid ? 0 : 1;
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('validate a FHIR resource or Bundle (JSON) against the Regione Lombardia IG profiles')
    .argument('<file>', 'FHIR JSON file')
    .option('--profile <url>', 'canonical url of the profile (default: meta.profile, else the base resource type)')
    .option('--json', 'print an OperationOutcome instead of the human-readable report')
    .action(async (file: string, opts: ValidateCommandOptions) => {
      process.exitCode = await runValidate(file, opts);
    });
}
