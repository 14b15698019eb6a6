import { Command } from 'commander';
import { registrarsFor } from './commands/index.ts';

const program = new Command();
program.name('cdr').description('cdr-engine: HL7 v2 / CDA2 / XML to FHIR R4 for the Lombardy CDR').showHelpAfterError();

try {
  for (const register of await registrarsFor(process.argv.slice(2))) register(program);
  await program.parseAsync(process.argv);
} catch (error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cdr: ${message}\n`);
  process.exitCode = 2;
}
