import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { codecommitIntake, githubPushIntake } from '../../lambdas/promotion/push-events';

const pipeline = pipelineSchema.parse({
  pipeline: { name: 'shop' },
  packages: [
    { name: 'web', source: { github: { owner: 'acme', repo: 'web', branch: 'main' } }, build: { commands: ['make'] } },
    { name: 'lib', source: { codecommit: { repository: 'lib', branch: 'main' } }, build: { commands: ['make'] } },
  ],
  applications: [{ name: 'shop', packages: ['web', 'lib'] }],
  stages: [{ name: 'Alpha', environments: [{ name: 'alpha', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'shop' }, to: 'alpha' }],
});

describe('push intake', () => {
  it('records the branch head before a GitHub push, so same-millisecond pushes can be ordered', () => {
    const intake = githubPushIntake(
      pipeline,
      {
        ref: 'refs/heads/main',
        before: 'a1',
        after: 'a2',
        repository: { full_name: 'acme/web' },
        head_commit: { id: 'a2', message: 'm', author: { email: 'dev@example.com' } },
      },
      'delivery-1',
      1,
    );
    expect(intake).toMatchObject({ kind: 'pushes', pushes: [{ package: 'web', commit: 'a2', before: 'a1' }] });
  });

  it('leaves out the all-zero "before" of a new branch', () => {
    const intake = githubPushIntake(
      pipeline,
      {
        ref: 'refs/heads/main',
        before: '0000000000000000000000000000000000000000',
        after: 'a1',
        repository: { full_name: 'acme/web' },
      },
      'delivery-2',
      1,
    );
    expect(intake.kind).toBe('pushes');
    expect(intake.kind === 'pushes' ? intake.pushes[0] : undefined).not.toHaveProperty('before');
  });

  it('records the old commit of a CodeCommit reference update as the head before the push', () => {
    const intake = codecommitIntake(
      pipeline,
      {
        id: 'e1',
        detail: {
          event: 'referenceUpdated',
          referenceType: 'branch',
          repositoryName: 'lib',
          referenceName: 'main',
          commitId: 'c2',
          oldCommitId: 'c1',
        },
      },
      1,
    );
    expect(intake).toMatchObject({ kind: 'pushes', pushes: [{ package: 'lib', commit: 'c2', before: 'c1' }] });
  });
});
