import type { Command } from 'commander';
import { register as explain } from './explain';
import { register as graph } from './graph';
import { register as validate } from './validate';

/** Every CLI command. Add one line per command module. */
export const commands: Array<(program: Command) => void> = [
  validate,
  graph,
  explain,
];
