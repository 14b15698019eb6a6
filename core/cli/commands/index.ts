import type { Command } from 'commander';
import { registerJsonataCommand } from './jsonata.ts';

/** Each CLI command lives in its own module and registers itself on the root program. */
export type CommandRegistrar = (program: Command) => void;

export const commandRegistrars: CommandRegistrar[] = [registerJsonataCommand];
