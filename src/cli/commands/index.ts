import type { Command } from 'commander';
import * as assets from './assets.ts';
import * as backfills from './backfills.ts';
import * as cancel from './cancel.ts';
import * as deps from './deps.ts';
import * as history from './history.ts';
import * as impact from './impact.ts';
import * as partitions from './partitions.ts';
import * as plan from './plan.ts';
import * as record from './record.ts';
import * as resume from './resume.ts';
import * as run from './run.ts';
import * as state from './state.ts';
import * as status from './status.ts';
import * as validate from './validate.ts';
import * as why from './why.ts';

/** A command module: adds its subcommand (name, arguments, help, action) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every subcommand, in the order `backfill --help` lists them. To add one, write its module and list it here. */
export const COMMANDS: readonly CommandModule[] = [
  validate,
  assets,
  partitions,
  deps,
  impact,
  status,
  why,
  record,
  history,
  plan,
  run,
  resume,
  cancel,
  backfills,
  state,
];
