import type { Command } from 'commander';
import * as assets from './assets.ts';
import * as deps from './deps.ts';
import * as impact from './impact.ts';
import * as partitions from './partitions.ts';
import * as validate from './validate.ts';

/** A command module: adds its subcommand (name, arguments, help, action) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every subcommand, in the order `backfill --help` lists them. To add one, write its module and list it here. */
export const COMMANDS: readonly CommandModule[] = [validate, assets, partitions, deps, impact];
