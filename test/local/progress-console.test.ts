/**
 * What `npm start` prints: the endpoints line names every AWS API stand-in, and a pass's "revision created" comes
 * before the deploy of that revision, which the pass's promotion starts before the pass returns its summary.
 */
import { describe, expect, it } from '@jest/globals';
import { stepProjectName } from '../../lambdas/core/buildspecs';
import { awsApisLine } from '../../local/assembly/system';
import type { BuildRecord } from '../../local/codebuild/codebuild';
import { ProgressConsole } from '../../local/console/progress';
import { threeStagePipeline } from '../decide/fixtures';

function deployBuild(revision: number, complete: boolean): BuildRecord {
  return {
    id: `deploy:${revision}`,
    arn: `arn:aws:codebuild:us-east-1:000000000000:build/deploy:${revision}`,
    buildNumber: revision,
    projectName: stepProjectName(threeStagePipeline(), 'Alpha', 'deploy'),
    startTime: 0,
    ...(complete ? { endTime: 2_000 } : {}),
    currentPhase: complete ? 'COMPLETED' : 'BUILD',
    buildStatus: complete ? 'SUCCEEDED' : 'IN_PROGRESS',
    buildComplete: complete,
    initiator: 'test',
    source: { type: 'NO_SOURCE' },
    secondarySources: [],
    secondarySourceVersions: [],
    artifactsSettings: { type: 'NO_ARTIFACTS' },
    environmentVariables: [
      { name: 'LOCKSTEP_ENVIRONMENT', value: 'Alpha', type: 'PLAINTEXT' },
      { name: 'LOCKSTEP_STEP', value: 'deploy', type: 'PLAINTEXT' },
      { name: 'LOCKSTEP_APPLICATION', value: 'A', type: 'PLAINTEXT' },
      { name: 'LOCKSTEP_REVISION', value: String(revision), type: 'PLAINTEXT' },
    ],
    phases: [],
    timeoutInMinutes: 60,
    workDir: '/tmp/w',
    logFile: '/tmp/w/log',
  } as unknown as BuildRecord;
}

describe('the local console', () => {
  it('lists the CodeCommit, Secrets Manager and CloudWatch stand-ins among the AWS APIs', () => {
    const line = awsApisLine({
      dynamodb: 'http://127.0.0.1:1',
      s3: 'http://127.0.0.1:2',
      stepFunctions: 'http://127.0.0.1:3',
      codeBuild: 'http://127.0.0.1:4',
      codeCommit: 'http://127.0.0.1:5',
      sns: 'http://127.0.0.1:6',
      secretsManager: 'http://127.0.0.1:7',
      cloudWatch: 'http://127.0.0.1:8',
    });
    expect(line).toContain('cloudwatch http://127.0.0.1:8');
    expect(line).toContain('codecommit http://127.0.0.1:5');
    expect(line).toContain('secretsmanager http://127.0.0.1:7');
    expect(line).toContain('codebuild http://127.0.0.1:4');
  });

  it('prints "revision created" before the deploy that the same pass started', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new ProgressConsole(
      threeStagePipeline(),
      (line) => lines.push(line),
      () => now,
    );
    progress.passStarted();
    now = 1_000;
    progress.build(deployBuild(1, false)); // the promotion's deploy starts while the pass still runs
    now = 2_000;
    progress.pass({ revisionsCreated: [{ application: 'A', revision: 1 }], executionsStarted: [], decisions: [] });
    progress.promotionStarted('alpha-A-r1');
    progress.passEnded();
    progress.build(deployBuild(1, true));
    expect(lines).toEqual([
      '00:00:02  revision A r1 created',
      '00:00:02  promotion alpha-A-r1 started',
      '00:00:01  deploying A r1 to Alpha ...',
      '00:00:02  deployed A r1 to Alpha in 2.0 s',
    ]);
  });

  it('writes what it held when a pass fails', () => {
    const lines: string[] = [];
    const progress = new ProgressConsole(
      threeStagePipeline(),
      (line) => lines.push(line),
      () => 0,
    );
    progress.passStarted();
    progress.build(deployBuild(2, false));
    expect(lines).toEqual([]);
    progress.passEnded();
    expect(lines).toEqual(['00:00:00  deploying A r2 to Alpha ...']);
  });
});
