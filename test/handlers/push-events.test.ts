import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { commitsOf } from '../../lambdas/core/decide/autobuild';
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

  describe('who pushed', () => {
    const mapped = pipelineSchema.parse({
      ...pipeline,
      identities: {
        'user/dev': 'Dev@Example.com',
        'arn:aws:sts::123456789012:assumed-role/Deployer/ci': 'ci@example.com',
        'github:octocat': 'cat@example.com',
      },
    });
    const codecommitPusher = (p: typeof pipeline, callerUserArn: string) => {
      const intake = codecommitIntake(
        p,
        {
          id: 'e',
          detail: {
            event: 'referenceUpdated',
            referenceType: 'branch',
            repositoryName: 'lib',
            referenceName: 'main',
            commitId: 'c2',
            callerUserArn,
          },
        },
        1,
      );
      return intake.kind === 'pushes' ? intake.pushes[0]!.pusher : undefined;
    };
    const githubPusher = (p: typeof pipeline, extra: Record<string, unknown>) => {
      const intake = githubPushIntake(
        p,
        { ref: 'refs/heads/main', after: 'a2', repository: { full_name: 'acme/web' }, ...extra },
        'delivery',
        1,
      );
      return intake.kind === 'pushes' ? intake.pushes[0]!.pusher : undefined;
    };

    it('names a CodeCommit pusher by the email of an SSO session, else by the identities mapping, else by the ARN resource', () => {
      const sso = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/Ann@Example.com';
      expect(codecommitPusher(pipeline, sso)).toBe('ann@example.com');
      expect(codecommitPusher(mapped, 'arn:aws:iam::123456789012:user/dev')).toBe('dev@example.com');
      expect(codecommitPusher(mapped, 'arn:aws:sts::123456789012:assumed-role/Deployer/ci')).toBe('ci@example.com');
      // Not mapped: recorded as the IAM resource, which no approver email matches.
      expect(codecommitPusher(pipeline, 'arn:aws:iam::123456789012:user/dev')).toBe('user/dev');
    });

    it('names a GitHub pusher by pusher.email, unless the identities mapping names their login', () => {
      expect(githubPusher(pipeline, { pusher: { name: 'octocat', email: 'Octo@Example.com' } })).toBe(
        'octo@example.com',
      );
      expect(githubPusher(mapped, { pusher: { name: 'octocat', email: '1+octocat@users.noreply.github.com' } })).toBe(
        'cat@example.com',
      );
      expect(githubPusher(pipeline, { sender: { login: 'octocat' } })).toBe('github:octocat');
    });

    it('marks every commit of a push as pushed by its pusher, the head included', () => {
      const intake = githubPushIntake(
        pipeline,
        {
          ref: 'refs/heads/main',
          after: 'a2',
          repository: { full_name: 'acme/web' },
          commits: [
            { id: 'a1', message: 'one', author: { email: 'ann@example.com' } },
            { id: 'a2', message: 'two', author: { email: 'carl@example.com' } },
          ],
          pusher: { name: 'bob', email: 'bob@example.com' },
        },
        'delivery',
        1,
      );
      const push = intake.kind === 'pushes' ? intake.pushes[0]! : undefined;
      expect(commitsOf(push!).map((c) => [c.id, c.author, c.pushedBy])).toEqual([
        ['a1', 'ann@example.com', 'bob@example.com'],
        ['a2', 'carl@example.com', 'bob@example.com'],
      ]);
    });

    it('refuses an identities entry that names no pusher or maps to no email, saying how to write it', () => {
      const result = pipelineSchema.safeParse({ ...pipeline, identities: { dev: 'not-an-email' } });
      expect(result.success).toBe(false);
      const messages = result.error!.issues.map((i) => i.message).join('\n');
      expect(messages).toMatch(/"user\/ann"/);
      expect(messages).toMatch(/approver email/);
    });
  });
});
