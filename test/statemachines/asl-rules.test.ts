import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { checkAslRules, type AslMachine } from '../support/asl-rules';
import { checkAsl } from '../support/asl-check';

const dir = join(import.meta.dirname, '../../statemachines');
const files = readdirSync(dir).filter((f) => f.endsWith('.asl.json'));

describe('every state machine in statemachines/', () => {
  it('finds at least the promotion state machine', () => {
    expect(files).toContain('promotion.asl.json');
  });

  for (const file of files) {
    it(`${file} passes asl-validator and our rules`, () => {
      const definition = JSON.parse(readFileSync(join(dir, file), 'utf8')) as AslMachine;
      expect(checkAsl(definition)).toEqual([]);
    });
  }
});

const task = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
  Retry: [{ ErrorEquals: ['Lambda.ServiceException'] }],
  Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
  Next: 'Done',
  ...extra,
});
const machine = (states: Record<string, unknown>): AslMachine => ({
  StartAt: 'Work',
  States: { ...states, Done: { Type: 'Succeed' }, Failed: { Type: 'Fail' } },
});

describe('ASL rules', () => {
  it('accepts a compliant machine', () => {
    expect(checkAslRules(machine({ Work: task() }))).toEqual([]);
  });

  it('refuses JSONata and variables', () => {
    const rules = checkAslRules({
      ...machine({ Work: task({ Assign: { x: 1 }, Output: '{% $x %}' }) }),
      QueryLanguage: 'JSONata',
    });
    expect(rules.map((f) => f.rule)).toEqual(['jsonpath-only', 'jsonpath-only', 'jsonpath-only']);
  });

  it('refuses a Choice that ends', () => {
    const findings = checkAslRules(machine({ Work: { Type: 'Choice', Choices: [], Default: 'Done', End: true } }));
    expect(findings).toEqual([expect.objectContaining({ rule: 'choice-never-ends', state: 'Work' })]);
  });

  it('refuses States.ALL before other catchers, or sharing its entry', () => {
    const early = checkAslRules(
      machine({
        Work: task({
          Catch: [
            { ErrorEquals: ['States.ALL'], Next: 'Failed' },
            { ErrorEquals: ['LockLostError'], Next: 'Failed' },
          ],
        }),
      }),
    );
    const shared = checkAslRules(
      machine({ Work: task({ Catch: [{ ErrorEquals: ['LockLostError', 'States.ALL'], Next: 'Failed' }] }) }),
    );
    expect(early.map((f) => f.rule)).toEqual(['states-all-last']);
    expect(shared.map((f) => f.rule)).toEqual(['states-all-last']);
  });

  it('refuses a Task without Retry or Catch, nested ones included', () => {
    const nested = {
      Type: 'Map',
      ItemProcessor: {
        StartAt: 'Inner',
        States: { Inner: { Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild.sync', End: true } },
      },
      Next: 'Done',
    };
    const findings = checkAslRules(machine({ Work: nested }));
    expect(findings.map((f) => `${f.rule}@${f.state}`)).toEqual([
      'task-retry-catch@Work/Inner',
      'task-retry-catch@Work/Inner',
    ]);
  });

  it('refuses a callback Task without a timeout', () => {
    const findings = checkAslRules(
      machine({ Work: task({ Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken' }) }),
    );
    expect(findings.map((f) => f.rule)).toEqual(['callback-timeout']);
  });

  it('catches what asl-validator alone misses', () => {
    const choiceEnds = machine({
      Work: {
        Type: 'Choice',
        Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'Done' }],
        Default: 'Done',
        End: true,
      },
    });
    expect(checkAsl(choiceEnds).some((line) => line.startsWith('choice-never-ends'))).toBe(true);
  });
});
