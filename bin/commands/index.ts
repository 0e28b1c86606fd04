import type { Command } from 'commander';
import { register as alarm } from './alarm';
import { register as approve } from './approve';
import { register as audit } from './audit';
import { register as explain } from './explain';
import { register as graph } from './graph';
import { register as init } from './init';
import { register as sdk } from './sdk';
import { register as local } from './local';
import { register as operatorActions } from './operator';
import { register as pipeline } from './pipeline';
import { register as push } from './push';
import { register as retry } from './retry';
import { register as status } from './status';
import { register as unlock } from './unlock';
import { register as validate } from './validate';

/** Every CLI command. Add one line per command module. */
export const commands: Array<(program: Command) => void> = [
  init,
  validate,
  graph,
  explain,
  sdk,
  local,
  push,
  status,
  approve,
  pipeline,
  unlock,
  retry,
  audit,
  operatorActions,
  alarm,
];
