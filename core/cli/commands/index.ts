import type { Command } from 'commander';
import { registerDlqCommand } from './dlq.ts';
import { registerJsonataCommand } from './jsonata.ts';
import { registerMapCommand } from './map.ts';
import { registerPluginCommand } from './plugin.ts';
import { registerStartCommand } from './start.ts';
import { registerTestMappingsCommand } from './test-mappings.ts';
import { registerTokenCommand } from './token.ts';
import { registerValidateCommand } from './validate.ts';

/** Each CLI command lives in its own module and registers itself on the root program. */
export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [
  registerStartCommand,
  registerValidateCommand,
  registerMapCommand,
  registerTestMappingsCommand,
  registerDlqCommand,
  registerJsonataCommand,
  registerPluginCommand,
  registerTokenCommand,
];
