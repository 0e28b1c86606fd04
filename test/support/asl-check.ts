/**
 * Checks an ASL definition with asl-validator and our rules (`asl-rules.ts` beside it). Used by the tests of
 * every state machine in `statemachines/`.
 */
import { createRequire } from 'node:module';
import { checkAslRules, type AslMachine } from './asl-rules';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

/** Every problem found, as lines; empty when the definition passes. */
export function checkAsl(definition: AslMachine): string[] {
  const ours = checkAslRules(definition).map((f) => `${f.rule} at ${f.state}: ${f.message}`);
  // asl-validator writes QueryLanguage into the states it is given: hand it a copy.
  const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
  return [
    ...(result.isValid
      ? []
      : result
          .errorsText('\n')
          .split('\n')
          .map((line) => `asl-validator: ${line}`)),
    ...ours,
  ];
}
