import { execFile } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SAMPLE_APP_SOURCE } from '../../local/git';
import { tempDataDir } from './helpers';

const run = promisify(execFile);

/** Runs a sample-app script as a buildspec command would, returning exit code and output. */
async function script(dir: string, name: string, env: Record<string, string>) {
  try {
    const { stdout } = await run(process.execPath, [join(dir, 'scripts', `${name}.js`)], {
      env: { PATH: process.env.PATH!, ...env },
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('sample app', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let copies = 0;

  beforeAll(async () => {
    data = await tempDataDir();
  });

  afterAll(() => data.cleanup());

  /** A copy of the sample app with its own deploy root, so each test passes alone and in any order. */
  async function freshApp() {
    copies += 1;
    const app = join(data.dir, `app-${copies}`);
    const deployRoot = join(data.dir, `deployments-${copies}`);
    await cp(SAMPLE_APP_SOURCE, app, { recursive: true });
    const deployEnv = (revision: number, token: number) => ({
      LOCKSTEP_DEPLOY_ROOT: deployRoot,
      LOCKSTEP_ENVIRONMENT: 'beta',
      LOCKSTEP_APPLICATION: 'sample-app',
      LOCKSTEP_REVISION: String(revision),
      LOCKSTEP_FENCING_TOKEN: String(token),
    });
    const deployedRecord = async () => JSON.parse(await readFile(join(deployRoot, 'beta', 'revision.json'), 'utf8'));
    return { app, deployEnv, deployedRecord };
  }

  /** Builds the app and deploys revision 1 with fencing token 7, as the first deploy of an environment does. */
  async function deployedApp() {
    const fresh = await freshApp();
    expect((await script(fresh.app, 'build', { CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc123' })).code).toBe(0);
    expect((await script(fresh.app, 'deploy', fresh.deployEnv(1, 7))).code).toBe(0);
    return fresh;
  }

  it('builds, deploys into a folder per environment, and its tests pass against what is deployed', async () => {
    const { app, deployEnv, deployedRecord } = await freshApp();
    expect((await script(app, 'build', { CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc123' })).code).toBe(0);
    const deployed = await script(app, 'deploy', deployEnv(1, 7));
    expect(deployed.output).toContain('deployed sample-app revision 1 to beta (fencing token 7)');
    expect(await deployedRecord()).toMatchObject({
      application: 'sample-app',
      environment: 'beta',
      revision: 1,
      fencingToken: 7,
      commit: 'abc123',
    });
    const tested = await script(app, 'test', deployEnv(1, 7));
    expect(tested.code).toBe(0);
    expect(tested.output).toContain('all checks passed');
  });

  it('fails its tests when the revision under test is not the one deployed', async () => {
    const { app, deployEnv } = await deployedApp();
    const tested = await script(app, 'test', deployEnv(2, 7));
    expect(tested.code).toBe(1);
    expect(tested.output).toContain('FAILED revision 2 is deployed at beta (found 1)');
  });

  it('refuses a deploy holding an older fencing token than the one deployed', async () => {
    const { app, deployEnv, deployedRecord } = await deployedApp();
    const stale = await script(app, 'deploy', deployEnv(2, 6));
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('fencing token 7');
    expect((await deployedRecord()).revision).toBe(1);
  });

  it('fails its tests when the build carries a FAIL_TESTS marker', async () => {
    const { app, deployEnv } = await deployedApp();
    await writeFile(join(app, 'FAIL_TESTS'), 'show the rollback\n');
    await script(app, 'build', {});
    expect((await script(app, 'deploy', deployEnv(3, 8))).code).toBe(0);
    const tested = await script(app, 'test', deployEnv(3, 8));
    expect(tested.code).toBe(1);
    expect(tested.output).toContain('FAILED the build carries no FAIL_TESTS marker');
  });
});
