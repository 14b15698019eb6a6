import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { REPO_ROOT } from '../../config/load.ts';
import { documentedFunctions, renderFunctionDocs } from '../../mapping/functions/docs.ts';

export const FUNCTION_DOCS_FILE = path.join(REPO_ROOT, 'docs', 'functions.md');

/** `cdr functions`: the mapping function library, listed from its metadata; --write-docs regenerates docs/functions.md. */
export function registerFunctionsCommand(program: Command): void {
  program
    .command('functions')
    .description('list the JSONata function library bound into every mapping (name, signature, doc, example)')
    .option('--write-docs', `write ${path.relative(process.cwd(), FUNCTION_DOCS_FILE) || 'docs/functions.md'} from the metadata`)
    .action((options: { writeDocs?: boolean }) => {
      if (options.writeDocs) {
        writeFileSync(FUNCTION_DOCS_FILE, renderFunctionDocs());
        process.stdout.write(`wrote ${FUNCTION_DOCS_FILE}\n`);
        return;
      }
      for (const f of documentedFunctions()) {
        process.stdout.write(`$${f.name}${f.signature ? ` ${f.signature}` : ''}\n  ${f.doc}\n${f.example ? `  e.g. ${f.example}\n` : ''}\n`);
      }
    });
}
