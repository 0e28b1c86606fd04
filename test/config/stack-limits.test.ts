/**
 * Issue 10: a pipeline too large for one CloudFormation stack fails `lockstep validate` (as it fails synth, see
 * test/cdk/scale.test.ts) with the limit, the overshoot and what to split, never a stack trace.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { loadPipeline } from '../../lambdas/core/config/load';
import { stackLimitProblems } from '../../lambdas/core/config/limits';
import { largePipeline, largePipelineInput } from '../support/large-pipeline';

const run = promisify(execFile);
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;

/** Runs the real CLI (`bin/lockstep.ts`) and returns its exit code and output. */
async function lockstep(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      '--import',
      TSX,
      join(process.cwd(), 'bin/lockstep.ts'),
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('CloudFormation limits in lockstep validate', () => {
  const folder = mkdtempSync(join(tmpdir(), 'lockstep-limits-'));

  it('finds nothing to refuse in the examples or in a 100-environment pipeline', () => {
    for (const example of ['three-stage', 'two-applications', 'quickstart']) {
      expect(stackLimitProblems(loadPipeline(`examples/${example}/lockstep.config.yaml`))).toEqual([]);
    }
    expect(stackLimitProblems(largePipeline({ environments: 100 }))).toEqual([]);
  });

  it('accepts the 100-environment pipeline', async () => {
    const file = join(folder, 'hundred.json');
    writeFileSync(file, JSON.stringify(largePipelineInput({ environments: 100 })));
    const result = await lockstep(['validate', file]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('100 environments');
  });

  it('refuses 1,000 environments, saying which limit, by how much and which stages to split', async () => {
    const file = join(folder, 'thousand.json');
    writeFileSync(file, JSON.stringify(largePipelineInput({ environments: 1000 })));
    const result = await lockstep(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /stages: the pipeline's CloudFormation template would be about 1\.\d\d MB, 0\.\d\d MB over CloudFormation's limit of 1\.00 MB per template; the commands and variables of its 4000 deploy and test steps take 1\.\d\d MB of it\. Fix: split the pipeline into 2 pipelines, each its own definition file and stack: \[alpha \+ beta\], \[gamma \+ prod\]/,
    );
    expect(result.stderr).toContain('1 problem in');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
