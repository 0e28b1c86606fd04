/**
 * Bundles each Lambda handler the way `DeploymentSystem` does (NodejsFunction settings from `lib/handlers.ts`:
 * esbuild, minified ESM for the function's Node.js runtime, AWS SDK left to the runtime), then prints each
 * bundle's size and its module load time: the median of several imports, each in a fresh `node` process, which is
 * what a cold start pays before the first invocation. Target: every bundle under 1 MB.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { TABLES } from '../lambdas/core/tables';
import { ESM_REQUIRE_BANNER, HANDLER_EXTERNALS, HANDLER_NAMES, handlerEntry } from '../lib/handlers';

const SIZE_TARGET_BYTES = 1024 * 1024;
const LOAD_RUNS = 7;
/** Lambda runs the newest runtime; locally the measurement uses this machine's node, so the target is a hint. */
const TARGET = 'node24';

/** Variables every handler may read at cold start; values only need the right shape. */
const ENVIRONMENT: Record<string, string> = {
  ...Object.fromEntries(TABLES.map((t) => [t.envVar, `bench-${t.logicalName.toLowerCase()}`])),
  LOCKSTEP_ARTIFACTS_BUCKET: 'bench-artifacts',
  LOCKSTEP_APPROVAL_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:bench-approvals',
  LOCKSTEP_NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:bench-notifications',
  LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bench',
  LOCKSTEP_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-webhook',
  LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-signing',
  LOCKSTEP_APPROVAL_BASE_URL: 'https://example.execute-api.eu-west-1.amazonaws.com/approvals',
  LOCKSTEP_APPROVAL_LINK_TTL_SECONDS: '86400',
  POWERTOOLS_SERVICE_NAME: 'lockstep',
  POWERTOOLS_METRICS_NAMESPACE: 'Lockstep',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
};

interface Row {
  readonly handler: string;
  readonly bytes?: number;
  readonly loadMs?: number;
  readonly error?: string;
}

export default async function handlerBundles(): Promise<void> {
  // Inside the project, so the bundles resolve the AWS SDK from node_modules as the runtime resolves its own copy:
  // the load time then includes the SDK clients a handler imports, as a cold start does.
  const cache = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url));
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'lockstep-bundles-'));
  const pipelineFile = join(work, 'pipeline.json');
  writeFileSync(pipelineFile, JSON.stringify(await examplePipeline()));
  const rows: Row[] = [];
  try {
    for (const handler of HANDLER_NAMES) rows.push(await measure(handler, work, pipelineFile));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  console.log(`handler            bundle (KB)  load median of ${LOAD_RUNS} (ms)  under 1 MB`);
  for (const row of rows) {
    if (row.error) {
      console.log(`${row.handler.padEnd(18)} ${row.error}`);
      continue;
    }
    const size = ((row.bytes ?? 0) / 1024).toFixed(1).padStart(11);
    const load = row.loadMs === undefined ? 'failed'.padStart(23) : row.loadMs.toFixed(1).padStart(23);
    console.log(
      `${row.handler.padEnd(18)} ${size}  ${load}  ${(row.bytes ?? 0) < SIZE_TARGET_BYTES ? 'yes' : 'NO: over target'}`,
    );
  }
  const over = rows.filter((r) => r.bytes !== undefined && r.bytes >= SIZE_TARGET_BYTES);
  if (over.length > 0) console.log(`\nOver the 1 MB target: ${over.map((r) => r.handler).join(', ')}`);
}

async function measure(handler: (typeof HANDLER_NAMES)[number], work: string, pipelineFile: string): Promise<Row> {
  const outdir = join(work, handler);
  const outfile = join(outdir, 'index.mjs');
  try {
    await build({
      entryPoints: [handlerEntry(handler)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: TARGET,
      minify: true,
      mainFields: ['module', 'main'],
      external: HANDLER_EXTERNALS,
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'silent',
    });
  } catch (error) {
    return { handler, error: `bundling failed: ${(error as Error).message.split('\n')[0]}` };
  }
  copyFileSync(pipelineFile, join(outdir, 'pipeline.json'));
  const bytes = statSync(outfile).size;

  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); console.log(performance.now() - t);`;
  const times: number[] = [];
  for (let run = 0; run < LOAD_RUNS; run += 1) {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env: { PATH: process.env.PATH, ...ENVIRONMENT, LOCKSTEP_PIPELINE_FILE: join(outdir, 'pipeline.json') },
      encoding: 'utf8',
    });
    if (child.status !== 0) return { handler, bytes, error: `load failed: ${loadError(child.stderr)}` };
    times.push(Number(child.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  return { handler, bytes, loadMs: times[Math.floor(times.length / 2)]! };
}

/** The thrown error's own line from a child's stderr (Node also prints the minified source line, which is huge). */
function loadError(stderr: string): string {
  const line = stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? stderr.trim().split('\n').pop() ?? '';
  return line.length > 240 ? `${line.slice(0, 240)}...` : line;
}

/**
 * The pipeline the CDK tests synthesize: valid for the runtime too (the handlers validate pipeline.json at cold
 * start, compliance policies included), so the load time is that of a working function.
 */
async function examplePipeline(): Promise<unknown> {
  const { fixturePipeline } = await import('../test/cdk/fixtures');
  return fixturePipeline;
}
