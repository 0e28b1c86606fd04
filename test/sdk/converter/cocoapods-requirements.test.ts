import { describe, expect, it } from '@jest/globals';
import { toCocoaPodsRequirements } from '../../../lambdas/sdk/converter';

describe('semver ranges as CocoaPods requirements', () => {
  it.each([
    ['*', []],
    ['x', []],
    ['6.1.0', ['= 6.1.0']],
    ['=6.1.0', ['= 6.1.0']],
    ['^6.1.0', ['~> 6.1']],
    ['^6.0.0', ['~> 6.0']],
    ['~6', ['~> 6.0']],
    ['~6.1.3', ['~> 6.1.3']],
    ['6.1.x', ['~> 6.1.0']],
    ['^0.2.3', ['~> 0.2.3']],
    ['^6.1.3', ['>= 6.1.3', '< 7.0.0']],
    ['>=1.2 <3', ['>= 1.2.0', '< 3.0.0']],
    ['1.2.3 - 2.3.4', ['>= 1.2.3', '<= 2.3.4']],
    ['<2', ['< 2.0.0']],
    ['1.0.0-beta.2', ['= 1.0.0-beta.2']],
  ])('maps %j to %j', (range, requirements) => {
    expect(toCocoaPodsRequirements(range)).toEqual({ ok: true, requirements });
  });

  it('refuses unions, which a podspec dependency cannot express', () => {
    expect(toCocoaPodsRequirements('^6.0.0 || ^7.0.0')).toEqual({
      ok: false,
      reason: expect.stringContaining('union'),
    });
  });

  it('refuses text that is not a range', () => {
    expect(toCocoaPodsRequirements('six')).toEqual({ ok: false, reason: '"six" is not a valid semver range' });
  });
});
