import { describe, expect, it } from '@jest/globals';
import { promotionFailed } from '../../lambdas/promotion/notifications';

// Issue 10: a failed step's logs stay findable from the notification, now that steps share CodeBuild projects.
describe('a failure notification', () => {
  const base = {
    pipeline: 'shop',
    environment: 'beta',
    application: 'web',
    revision: 4,
    execution: 'web-to-beta-web-r4',
  };
  const link =
    'https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/Steps/log-events/beta$252Fdeploy$252Fabc';

  it("links the failed build's own log stream, ahead of the long details", () => {
    const cause = JSON.stringify({
      Build: {
        Id: 'lockstep-shop-steps-home-1a2b3c4d:abc',
        BuildStatus: 'FAILED',
        Logs: { DeepLink: link, StreamName: 'beta/deploy/abc' },
        Phases: Array(40).fill({ PhaseType: 'BUILD' }),
      },
    });
    const text = promotionFailed({ ...base, stage: 'deploy', error: 'States.TaskFailed', cause }).text.split('\n');
    expect(text[2]).toBe(`Logs: ${link}`);
    expect(text[3]).toMatch(/^Details: /);
  });

  it('has no logs line when the cause carries no build', () => {
    const text = promotionFailed({
      ...base,
      stage: 'gates',
      error: 'States.Timeout',
      cause: 'the window never opened',
    }).text;
    expect(text).not.toContain('Logs:');
  });
});
