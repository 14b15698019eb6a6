import type { Command } from 'commander';

/** Each CLI command lives in its own module and registers itself on the root program. */
export type CommandRegistrar = (program: Command) => void;

/**
 * Command name → loader of its module. Only the module of the command being run is imported, so
 * `cdr map` does not pay for loading the engine, the queue or the database drivers.
 */
export const commandLoaders: Record<string, () => Promise<CommandRegistrar>> = {
  start: async () => (await import('./start.ts')).registerStartCommand,
  validate: async () => (await import('./validate.ts')).registerValidateCommand,
  map: async () => (await import('./map.ts')).registerMapCommand,
  'test-mappings': async () => (await import('./test-mappings.ts')).registerTestMappingsCommand,
  coverage: async () => (await import('./coverage.ts')).registerCoverageCommand,
  dlq: async () => (await import('./dlq.ts')).registerDlqCommand,
  jsonata: async () => (await import('./jsonata.ts')).registerJsonataCommand,
  token: async () => (await import('./token.ts')).registerTokenCommand,
  plugin: async () => (await import('./plugin.ts')).registerPluginCommand,
  functions: async () => (await import('./functions.ts')).registerFunctionsCommand,
};

/** The registrars to load for these arguments: the named command only, or all of them (help, unknown command). */
export async function registrarsFor(argv: string[]): Promise<CommandRegistrar[]> {
  const name = argv.find((a) => !a.startsWith('-'));
  const loader = name ? commandLoaders[name] : undefined;
  if (loader) return [await loader()];
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
