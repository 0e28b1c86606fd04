#!/usr/bin/env node
/**
 * The `lockstep` executable. Installed, npm links the compiled `dist/bin/lockstep.js` as `npx lockstep` and plain
 * Node.js runs it; in a clone, `npm run lockstep -- <command>` runs this source through tsx.
 */
import { runCli } from './cli';

await runCli(process.argv);
