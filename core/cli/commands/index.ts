import type { Command } from 'commander';
import { registerStartCommand } from './start.ts';
import { registerValidateCommand } from './validate.ts';

/** Each CLI command lives in its own module and registers itself on the root program. */
export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [registerStartCommand, registerValidateCommand];
