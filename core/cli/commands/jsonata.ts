import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { FallbackReport, JsonataEngineKind } from '../../mapping/compiler/index.ts';
import { compileJsonata, JsonataEvaluationError, setJsonataFallbackListener } from '../../mapping/compiler/index.ts';

interface JsonataCommandOptions {
  expr: string;
  input: string;
  bindings?: string;
  engine: JsonataEngineKind;
  timeout?: string;
  maxDepth?: string;
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Bindings come from a JSON object, or from a JS/TS module (its default export, else its named exports) for functions. */
async function readBindings(file: string): Promise<Record<string, unknown>> {
  const ext = extname(file).toLowerCase();
  let value: unknown;
  if (ext === '.json') {
    value = await readJson(file, 'bindings file');
  } else {
    const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
    value = mod.default !== undefined ? mod.default : { ...mod };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`bindings file ${file} must hold an object of variable bindings`);
  }
  return value as Record<string, unknown>;
}

function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
}

async function runJsonata(options: JsonataCommandOptions): Promise<void> {
  setJsonataFallbackListener(undefined); // reported below, on stderr
  const expression = await readFile(options.expr, 'utf8');
  const input = await readJson(options.input, 'input file');
  const bindings = options.bindings === undefined ? undefined : await readBindings(options.bindings);
  const timeoutMs = positiveNumber(options.timeout, 'timeout');
  const maxDepth = positiveNumber(options.maxDepth, 'max-depth');
  try {
    const compiled = compileJsonata(expression, {
      engine: options.engine,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(maxDepth === undefined ? {} : { maxDepth }),
    });
    const fallback: FallbackReport | undefined = compiled.fallback;
    if (fallback !== undefined) process.stderr.write(`fallback: ${fallback.message}\n`);
    const result = await compiled.evaluate(input, bindings);
    if (result === undefined) {
      process.stderr.write('no result (undefined)\n');
    } else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
  } catch (err) {
    if (err instanceof JsonataEvaluationError) {
      const where = err.position === undefined ? '' : ` (position ${err.position}${err.token === undefined ? '' : `, token ${err.token}`})`;
      process.stderr.write(`${err.code}: ${err.message}${where}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

/** `cdr jsonata --expr FILE --input FILE [--bindings FILE] [--engine compiled|interpreter]` */
export function registerJsonataCommand(program: Command): void {
  program
    .command('jsonata')
    .description('Evaluate a JSONata expression against a JSON input (compiled engine by default)')
    .requiredOption('--expr <file>', 'file holding the JSONata expression')
    .requiredOption('--input <file>', 'JSON input document')
    .option('--bindings <file>', 'variable bindings: a JSON object, or a JS/TS module exporting values and functions')
    .addOption(new Option('--engine <engine>', 'evaluation engine').choices(['compiled', 'interpreter']).default('compiled'))
    .option('--timeout <ms>', 'evaluation time limit in milliseconds (0 disables)')
    .option('--max-depth <n>', 'maximum evaluation depth (0 disables)')
    .action(async (options: JsonataCommandOptions) => {
      await runJsonata(options);
    });
}
