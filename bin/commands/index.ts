import type { Command } from 'commander';

/** Every CLI command. Add one line per command module. */
export const commands: Array<(program: Command) => void> = [];
