/**
 * `statemachines/sdk-publishing.asl.json`: checked with asl-validator and our rules, then run in
 * aws-local-stepfunctions through its scenarios. The SDK steps Tasks run the real step logic (`runSdkStep`) over
 * the SDK table on dynalite and an object store kept in a temp folder; the tester and provider-code Tasks are bound
 * to stand-ins that read their plans and write the results and output a scenario asks for; executions that steps start (recheck-waiting) run
 * after the current one, as Step Functions would run them.
 */
import '../../local/polyfills';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import dynalite from 'dynalite';
import yazl from 'yazl';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { walkStates, type AslMachine } from '../support/asl-rules';
import { SDK_TABLES } from '../../lambdas/core/tables';
import { LocalFileSink } from '../../lambdas/sdk/converter';
import type { PackageIndex } from '../../lambdas/sdk/host/package-index';
import { DynamoSdkStore } from '../../lambdas/adapters/dynamo-sdk-store';
import type { SdkServiceDependencies } from '../../lambdas/sdk/service/dependencies';
import type { SdkExecutionInput } from '../../lambdas/sdk/service/execution-input';
import { artifactsKey, metadataKey } from '../../lambdas/sdk/service/keys';
import type { ObjectInfo, ObjectStore, SdkNotification } from '../../lambdas/ports/sdk';
import type { TestResults } from '../../lambdas/sdk/records/records';
import { runSdkStep } from '../../lambdas/sdk/service/steps';
import { intakeVersion, pollSdkHost } from '../../lambdas/sdk/service/intake';
import type { TestPlan } from '../../lambdas/sdk/records/test-plan';
import { ensureTables } from '../../local/dynamodb';
import { checkAsl } from '../support/asl-check';

const STEPS_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:sdk-steps';
const ASL_FILE = join(import.meta.dirname, '../../statemachines/sdk-publishing.asl.json');

function definition(): AslMachine {
  return JSON.parse(readFileSync(ASL_FILE, 'utf8').replaceAll('${SdkStepsFunctionArn}', STEPS_ARN)) as AslMachine;
}

/** Objects as files under a folder: `<root>/<bucket>/<key>`. */
class FolderObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}
  private path(bucket: string, key: string) {
    return join(this.root, bucket, key);
  }
  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const bytes = await readFile(this.path(bucket, key));
      return { key, etag: createHash('md5').update(bytes).digest('hex'), size: bytes.length };
    } catch {
      return undefined;
    }
  }
  async getBytes(bucket: string, key: string): Promise<Buffer | undefined> {
    return readFile(this.path(bucket, key)).catch(() => undefined);
  }
  async put(bucket: string, key: string, body: string | Buffer): Promise<void> {
    await mkdir(dirname(this.path(bucket, key)), { recursive: true });
    await writeFile(this.path(bucket, key), body);
  }
  async copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    await mkdir(dirname(this.path(toBucket, toKey)), { recursive: true });
    await copyFile(this.path(fromBucket, fromKey), this.path(toBucket, toKey));
  }
  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(bucket, key), { force: true });
  }
  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, base: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const key = base ? `${base}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), key);
        else if (key.startsWith(prefix)) out.push((await this.head(bucket, key))!);
      }
    };
    await walk(join(this.root, bucket), '');
    return out;
  }
  async listPage(
    bucket: string,
    prefix: string,
    options: { startAfter?: string; maxKeys: number },
  ): Promise<{ objects: ObjectInfo[]; truncated: boolean }> {
    const after = (await this.list(bucket, prefix))
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .filter((o) => options.startAfter === undefined || o.key > options.startAfter);
    return { objects: after.slice(0, options.maxKeys), truncated: after.length > options.maxKeys };
  }
  async presignPut(bucket: string, key: string): Promise<string> {
    return `file://${this.path(bucket, key)}`;
  }
  async presignGet(bucket: string, key: string): Promise<string> {
    return `file://${this.path(bucket, key)}`;
  }
  async download(bucket: string, key: string, path: string): Promise<void> {
    await pipeline(createReadStream(this.path(bucket, key)), createWriteStream(path));
  }
  async openArchive(bucket: string, key: string) {
    return { path: this.path(bucket, key) };
  }
  openSink(bucket: string, key: string) {
    const path = this.path(bucket, key);
    mkdirSync(dirname(path), { recursive: true });
    return new LocalFileSink(path);
  }
  exists(bucket: string, key: string): Promise<boolean> {
    return stat(this.path(bucket, key)).then(
      () => true,
      () => false,
    );
  }
}

interface Sdk {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  tier?: 'public' | 'private' | 'early-access';
}

let root: string;
let objects: FolderObjectStore;
let closeDb: () => Promise<void>;
let tableEndpoint: string;
let store: DynamoSdkStore;
let deps: SdkServiceDependencies;
const notifications: SdkNotification[] = [];
const queued: { name: string; input: SdkExecutionInput }[] = [];
const startedNames = new Set<string>();
const executions: { name: string; status: string; error?: string; states: string[] }[] = [];
/** Packages (`name@version`) whose provider code (the sample app) fails in the current scenario. */
let failingTests = new Set<string>();
/** Packages (`name@version`) that fail the trusted tester's verification in the current scenario. */
let failingVerification = new Set<string>();
/** What the provider-code build writes instead of its output, when a scenario says. */
let providerOutput: ((planId: string) => string) | undefined;
/** How many StartBuild calls of the provider-code project fail with CodeBuild's quota error. */
let quotaErrors = 0;
let machine: StateMachine;

beforeAll(async () => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tableEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeDb = () => new Promise<void>((resolve) => server.close(() => resolve()));
  machine = new StateMachine(definition() as never, { validationOptions: { checkArn: true, checkPaths: true } });
});
afterAll(async () => {
  await closeDb();
});

let tableCounter = 0;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'lockstep-sdk-sm-'));
  objects = new FolderObjectStore(root);
  // A fresh table per scenario: scenarios do not see each other's SDKs.
  const definitionOf = { ...SDK_TABLES[0]!, logicalName: `Sdk${++tableCounter}` as 'Sdk' };
  const tables = await ensureTables(tableEndpoint, [definitionOf]);
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: tableEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
  store = new DynamoSdkStore(client, Object.values(tables)[0]!);
  notifications.length = 0;
  queued.length = 0;
  executions.length = 0;
  startedNames.clear();
  failingTests = new Set();
  failingVerification = new Set();
  providerOutput = undefined;
  quotaErrors = 0;
  deps = {
    config: {
      hostBucket: 'host',
      stagingBucket: 'staging',
      packageHostBucket: 'packages',
      testerProject: 'lockstep-sdk-tester',
      providerCodeProject: 'lockstep-sdk-provider-code',
      providerRunner: { bucket: 'staging', key: 'tester/provider-runner.mjs' },
    },
    store,
    objects,
    notifier: { publish: async (n) => void notifications.push(n) },
    orchestrator: {
      start: async (name, input) => {
        if (startedNames.has(name)) return { started: false };
        startedNames.add(name);
        queued.push({ name, input: input as SdkExecutionInput });
        return { started: true, executionArn: `arn:${name}` };
      },
      succeed: async () => undefined,
      fail: async () => undefined,
    },
    clock: () => Date.now(),
    scratchDir: root,
  };
});

/** Uploads an SDK version to the host (archive + YAML metadata), as a provider's S3 put would. */
async function upload(sdk: Sdk): Promise<void> {
  const ref = { name: sdk.name, version: sdk.version };
  const zip = new yazl.ZipFile();
  zip.addBuffer(
    Buffer.from(`#pragma once\nint ${sdk.name}_v${sdk.version.replace(/\W/g, '_')}(void);\n`),
    `include/${sdk.name}.h`,
  );
  zip.addBuffer(Buffer.from(`${sdk.name} ${sdk.version}\n`), 'README.md');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await objects.put('host', artifactsKey(ref), Buffer.concat(chunks));
  const deps_ = Object.entries(sdk.dependencies ?? {}).map(([n, r]) => `  ${n}: "${r}"`);
  await objects.put(
    'host',
    metadataKey(ref, 'lockstep-sdk.yaml'),
    [
      `name: ${sdk.name}`,
      `publicName: Acme ${sdk.name[0]!.toUpperCase()}${sdk.name.slice(1)}`,
      `version: "${sdk.version}"`,
      'summary: A small SDK.',
      'description: A small SDK for the state machine scenarios.',
      `homepage: https://${sdk.name}.example.com`,
      'authors: [Acme]',
      `contact: ${sdk.name}-owners@example.com`,
      'license: MIT',
      ...(deps_.length > 0 ? ['dependencies:', ...deps_] : []),
      'platform: { name: linux, minimumVersion: "5", architectures: [x86_64] }',
      `tier: ${sdk.tier ?? 'public'}`,
    ].join('\n'),
  );
}

/**
 * Set by a scenario that cuts an execution off while its tester runs (as a crash of local mode does): the tester
 * Task then never answers, and `testerStarted` is called once it was reached.
 */
let cutOff: { testerStarted: () => void } | undefined;

/** Runs one execution in the local engine with every Task bound; `abortWhenTesting` ends it once the tester runs. */
async function runExecution(name: string, input: SdkExecutionInput, abortWhenTesting = false): Promise<void> {
  const states: string[] = [];
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const { name: stateName, state } of walkStates(definition())) {
    if (state.Type !== 'Task') continue;
    if (state.Resource === STEPS_ARN) {
      handlers[stateName] = async (event) => {
        states.push(stateName);
        return runSdkStep(deps, event);
      };
    } else if (state.Resource === 'arn:aws:states:::codebuild:startBuild.sync') {
      handlers[stateName] = async (event) => {
        states.push(stateName);
        const build = event as { ProjectName: string; EnvironmentVariablesOverride: { Name: string; Value: string }[] };
        return stateName === 'RunProviderCode' ? providerCode(build) : tester(build);
      };
    }
  }
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: { RunTester: 0, RunProviderCode: 0 },
    },
    context: { Execution: { Name: name } },
  });
  if (abortWhenTesting) {
    await new Promise<void>((testerStarted) => (cutOff = { testerStarted }));
    execution.abort();
  }
  try {
    await execution.result;
    executions.push({ name, status: 'SUCCEEDED', states });
  } catch (error) {
    executions.push({
      name,
      status: 'FAILED',
      error: ((error as { cause?: Error }).cause ?? (error as Error)).name,
      states,
    });
  }
}

interface BuildEvent {
  ProjectName: string;
  EnvironmentVariablesOverride: { Name: string; Value: string }[];
}

const buildFailed = (project: string) => {
  const error = new Error(JSON.stringify({ Build: { Id: `${project}:1`, BuildStatus: 'FAILED' } }));
  error.name = 'States.TaskFailed';
  return error;
};

/** The trusted tester stand-in: fails the packages of `failingVerification`; expects the sample app of the rest. */
async function tester(event: BuildEvent): Promise<unknown> {
  expect(event.ProjectName).toBe('lockstep-sdk-tester');
  if (cutOff !== undefined) {
    cutOff.testerStarted();
    cutOff = undefined;
    return new Promise(() => undefined);
  }
  expect(event.EnvironmentVariablesOverride.map((v) => v.Name)).toEqual(['LOCKSTEP_SDK_TEST_PLAN']);
  const uri = event.EnvironmentVariablesOverride.find((v) => v.Name === 'LOCKSTEP_SDK_TEST_PLAN')!.Value;
  // The tester gets presigned URLs only: the plan's, each package's and the one results key's.
  const plan = JSON.parse(await readFile(fileURLToPath(uri), 'utf8')) as TestPlan;
  for (const pkg of plan.packages) expect(pkg.url).toBe(`file://${join(root, pkg.bucket, pkg.key)}`);
  expect(plan.results.url).toBe(`file://${join(root, 'staging', plan.results.key)}`);
  for (const pkg of plan.packages) expect(await objects.exists(pkg.bucket, pkg.key)).toBe(true);
  const packages = plan.members.map((m) => {
    const failing = failingVerification.has(`${m.name}@${m.version}`);
    return {
      ...m,
      passed: !failing,
      checks: [{ name: 'manifest', passed: !failing, message: failing ? 'README.md differs' : 'all files match' }],
    };
  });
  const results: TestResults = {
    planId: plan.planId,
    passed: packages.every((p) => p.passed),
    packages,
    providerCode: { sampleApp: true, checksScripts: [] },
  };
  await objects.put(plan.results.bucket, plan.results.key, JSON.stringify(results));
  if (!results.passed) throw buildFailed('lockstep-sdk-tester');
  return { Build: { Id: 'lockstep-sdk-tester:1', BuildStatus: 'SUCCEEDED' } };
}

/** The provider-code build stand-in: runs "the sample app", which fails for the packages of `failingTests`. */
async function providerCode(event: BuildEvent): Promise<unknown> {
  expect(event.ProjectName).toBe('lockstep-sdk-provider-code');
  if (quotaErrors > 0) {
    quotaErrors--;
    const error = new Error('Cannot have more than 1 builds in queue for the account');
    error.name = 'CodeBuild.AccountLimitExceededException';
    throw error;
  }
  const variables = Object.fromEntries(event.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]));
  expect(Object.keys(variables).sort()).toEqual(['LOCKSTEP_SDK_PROVIDER_RUN', 'LOCKSTEP_SDK_PROVIDER_RUNNER']);
  expect(variables.LOCKSTEP_SDK_PROVIDER_RUNNER).toBe(`file://${join(root, 'staging', 'tester/provider-runner.mjs')}`);
  // Its own plan: the same packages, and one output key it did not choose; no URL of the tester's plan or results.
  const run = JSON.parse(await readFile(fileURLToPath(variables.LOCKSTEP_SDK_PROVIDER_RUN!), 'utf8')) as TestPlan;
  expect(run.results.key).toBe(`tests/${run.planId}/provider-output.json`);
  expect(run.results.url).toBe(`file://${join(root, 'staging', run.results.key)}`);
  expect(JSON.stringify(run)).not.toContain('results.json');
  expect(JSON.stringify(run)).not.toContain('plan.json');
  const failed = run.members.some((m) => failingTests.has(`${m.name}@${m.version}`));
  const output = providerOutput?.(run.planId) ?? {
    planId: run.planId,
    packages: run.members.map((m) => {
      const failing = failingTests.has(`${m.name}@${m.version}`);
      return {
        ...m,
        checks: [
          {
            name: 'sample-app',
            passed: !failing,
            message: failing ? 'the libraries do not link together: undefined reference' : 'built and ran',
          },
        ],
      };
    }),
  };
  await objects.put(run.results.bucket, run.results.key, typeof output === 'string' ? output : JSON.stringify(output));
  if (failed) throw buildFailed('lockstep-sdk-provider-code');
  return { Build: { Id: 'lockstep-sdk-provider-code:1', BuildStatus: 'SUCCEEDED' } };
}

/** Intake for each SDK, then every execution (and the ones they start) to the end. */
async function push(...sdks: Sdk[]): Promise<void> {
  for (const sdk of sdks) await upload(sdk);
  for (const sdk of sdks) await intakeVersion(deps, sdk);
  while (queued.length > 0) {
    const next = queued.shift()!;
    await runExecution(next.name, next.input);
  }
}

async function status(label: string) {
  const [name, version] = label.split('@') as [string, string];
  return (await store.getVersion({ name, version }))!;
}

async function index(): Promise<PackageIndex | undefined> {
  const bytes = await objects.getBytes('packages', 'index.json');
  return bytes === undefined ? undefined : (JSON.parse(bytes.toString()) as PackageIndex);
}

const listed = async () =>
  (await index())?.sdks.flatMap((s) => s.versions.map((v) => `${s.name}@${v.version}`)).sort() ?? [];

describe('SDK publishing state machine', () => {
  it('passes asl-validator and the Lockstep ASL rules', () => {
    expect(checkAsl(definition())).toEqual([]);
  });

  it('publishes an SDK: validated, converted, staged, tested, copied to its tier, indexed, owner notified', async () => {
    await push({ name: 'analytics', version: '6.1.0' });
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(executions[0]!.states).toEqual([
      'Validate',
      'Convert',
      'Stage',
      'RecheckAfterStage',
      'RunTester',
      'RunProviderCode',
      'RecordTest',
      'Publish',
      'RecheckAfterPublish',
      'NotifyPublished',
    ]);
    expect((await status('analytics@6.1.0')).status).toBe('PUBLISHED');
    expect(await listed()).toEqual(['analytics@6.1.0']);
    expect(await objects.exists('packages', 'public/analytics/6.1.0/analytics-6.1.0.zip')).toBe(true);
    expect(notifications.map((n) => [n.event, n.recipients])).toEqual([
      ['sdk-published', ['analytics-owners@example.com']],
    ]);
  });

  it('holds an SDK in WAITING until its dependency arrives, then moves it on without another push', async () => {
    await push({ name: 'geo', version: '1.0.0', dependencies: { analytics: '^6.0.0' }, tier: 'early-access' });
    expect(executions[0]!.states.at(-1)).toBe('Stage');
    expect(executions[0]!.status).toBe('SUCCEEDED');
    const waiting = await status('geo@1.0.0');
    expect(waiting.status).toBe('WAITING');
    expect(waiting.reason).toContain('analytics ^6.0.0');
    expect(await index()).toBeUndefined();

    await push({ name: 'analytics', version: '6.1.0' });
    expect((await status('geo@1.0.0')).status).toBe('PUBLISHED');
    expect(await listed()).toEqual(['analytics@6.1.0', 'geo@1.0.0']);
    // geo was tested against analytics and published only once analytics was.
    expect(executions.some((e) => e.name.startsWith('geo-1_0_0-restage'))).toBe(true);
    expect(
      notifications
        .filter((n) => n.event === 'sdk-published')
        .map((n) => n.sdk)
        .sort(),
    ).toEqual(['analytics', 'geo']);
  });

  it('records a CONFLICT with the chain of requirements and notifies the owners of every SDK involved', async () => {
    await push({ name: 'analytics', version: '6.1.0' }, { name: 'analytics', version: '7.0.2' });
    await store.saveBatch(
      {
        id: 'release-1',
        members: [
          { name: 'maps', version: '2.0.0' },
          { name: 'social', version: '1.3.0' },
        ],
        state: 'OPEN',
        reason: '',
        createdAt: '',
        updatedAt: '',
      },
      undefined,
    );
    await store.putBatchMembership({ name: 'maps', version: '2.0.0' }, 'release-1');
    await store.putBatchMembership({ name: 'social', version: '1.3.0' }, 'release-1');
    notifications.length = 0;
    await push(
      { name: 'maps', version: '2.0.0', dependencies: { analytics: '^6.0.0' } },
      { name: 'social', version: '1.3.0', dependencies: { analytics: '^7.0.0' } },
    );
    const maps = await status('maps@2.0.0');
    expect(maps.status).toBe('CONFLICT');
    expect((await status('social@1.3.0')).status).toBe('CONFLICT');
    expect(maps.reason).toMatch(/maps 2\.0\.0.*analytics \^6\.0\.0/);
    expect(maps.reason).toMatch(/social 1\.3\.0.*analytics \^7\.0\.0/);
    const conflict = notifications.find((n) => n.event === 'sdk-conflict')!;
    // analytics is involved too: the chain ends at its two majors.
    expect(new Set(conflict.recipients)).toEqual(
      new Set(['maps-owners@example.com', 'social-owners@example.com', 'analytics-owners@example.com']),
    );
    expect(conflict.text).toContain('analytics');
    expect(await listed()).toEqual(['analytics@6.1.0', 'analytics@7.0.2']);
  });

  it('stops at TEST_FAILED when provider code fails, publishes nothing and tells the owner why', async () => {
    failingTests = new Set(['analytics@6.1.0']);
    await push({ name: 'analytics', version: '6.1.0' });
    expect(executions[0]).toMatchObject({ status: 'FAILED', error: 'SdkTestFailed' });
    expect(executions[0]!.states.slice(-4)).toEqual([
      'RunTester',
      'RunProviderCode',
      'RecordProviderCodeFailure',
      'NotifyTestFailed',
    ]);
    const record = await status('analytics@6.1.0');
    expect(record.status).toBe('TEST_FAILED');
    // The provider code's own output, not "the tester did not finish".
    expect(record.reason).toContain('sample-app: the libraries do not link together: undefined reference');
    expect(await index()).toBeUndefined();
    expect(notifications.map((n) => n.event)).toEqual(['sdk-test-failed']);
  });

  it('runs no provider code for a package that fails verification', async () => {
    failingVerification = new Set(['analytics@6.1.0']);
    await push({ name: 'analytics', version: '6.1.0' });
    expect(executions[0]).toMatchObject({ status: 'FAILED', error: 'SdkTestFailed' });
    expect(executions[0]!.states.slice(-3)).toEqual(['RunTester', 'RecordTestFailure', 'NotifyTestFailed']);
    expect((await status('analytics@6.1.0')).reason).toContain('manifest: README.md differs');
  });

  it('fails the test, with a clear message, when the provider-code output is malformed or claims more', async () => {
    providerOutput = () =>
      JSON.stringify({
        planId: 'whatever',
        packages: [
          { name: 'analytics', version: '6.1.0', checks: [{ name: 'sample-app', passed: true, message: 'x' }] },
        ],
      });
    await push({ name: 'analytics', version: '6.1.0' });
    const record = await status('analytics@6.1.0');
    expect(record.status).toBe('TEST_FAILED');
    expect(record.reason).toMatch(
      /the provider-code build wrote unreadable output: provider-output.json is for plan whatever/,
    );
    expect(await index()).toBeUndefined();
  });

  it('fails the test when the provider-code build reports nothing for the sample app the tester expected', async () => {
    // The output of the right plan, with every check left out.
    providerOutput = (planId) => JSON.stringify({ planId, packages: [] });
    await push({ name: 'analytics', version: '6.1.0' });
    const record = await status('analytics@6.1.0');
    expect(record.status).toBe('TEST_FAILED');
    expect(record.reason).toContain('sample-app: the provider-code build did not report the sample app');
  });

  it('retries a provider-code build that hits CodeBuild quotas instead of recording a test result', async () => {
    quotaErrors = 2;
    await push({ name: 'analytics', version: '6.1.0' });
    expect(executions[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(executions[0]!.states.filter((s) => s === 'RunProviderCode')).toHaveLength(3);
    expect((await status('analytics@6.1.0')).status).toBe('PUBLISHED');
  });

  it('refuses an upload whose metadata breaks the rules, recording why', async () => {
    await upload({ name: 'maps', version: '2.0.0' });
    await objects.put(
      'host',
      metadataKey({ name: 'maps', version: '2.0.0' }, 'lockstep-sdk.yaml'),
      'name: maps\nversion: "2.0.0"\ncontact: maps-owners@example.com\n',
    );
    await intakeVersion(deps, { name: 'maps', version: '2.0.0' });
    await runExecution(queued[0]!.name, queued[0]!.input);
    expect(executions[0]).toMatchObject({ status: 'FAILED', error: 'SdkRejected' });
    const [intake] = await store.listIntakes({ name: 'maps', version: '2.0.0' });
    expect(intake).toMatchObject({ state: 'REJECTED' });
    expect(intake!.reason).toContain('summary');
    expect(notifications[0]).toMatchObject({ event: 'sdk-rejected', recipients: ['maps-owners@example.com'] });
    // Refused uploads leave incoming/ too, so the poll does not read them again and again.
    expect(await objects.list('host', 'incoming/')).toEqual([]);
    expect((await intakeVersion(deps, { name: 'maps', version: '2.0.0' })).started).toBe(false);
  });

  describe('an execution cut off while its SDK is TESTING, run again from the start (issue 14, item 12)', () => {
    it('finishes by itself: the upload is not refused as its own version, the test runs again, the SDK is published', async () => {
      await upload({ name: 'analytics', version: '6.1.0' });
      await intakeVersion(deps, { name: 'analytics', version: '6.1.0' });
      const { name, input } = queued.shift()!;
      await runExecution(name, input, true);
      expect((await status('analytics@6.1.0')).status).toBe('TESTING');

      // What local mode's restart does: the same execution again from its first state, with its input.
      await runExecution(name, input);
      expect(executions.at(-1)).toMatchObject({ status: 'SUCCEEDED' });
      expect(executions.at(-1)!.states).toEqual([
        'Validate',
        'Stage',
        'RecheckAfterStage',
        'RunTester',
        'RunProviderCode',
        'RecordTest',
        'Publish',
        'RecheckAfterPublish',
        'NotifyPublished',
      ]);
      expect((await status('analytics@6.1.0')).status).toBe('PUBLISHED');
      expect(await listed()).toEqual(['analytics@6.1.0']);
      expect(await store.listIntakes({ name: 'analytics', version: '6.1.0' })).not.toContainEqual(
        expect.objectContaining({ state: 'REJECTED' }),
      );
    });

    it('finishes a batch whose owner was cut off while testing, with one more tester run', async () => {
      const analytics: Sdk = { name: 'analytics', version: '6.1.0' };
      const geo: Sdk = { name: 'geo', version: '1.0.0', dependencies: { analytics: '^6.0.0' } };
      await store.saveBatch(
        {
          id: 'b9',
          members: [analytics, geo].map((m) => ({ name: m.name, version: m.version })),
          state: 'OPEN',
          reason: '',
          createdAt: '',
          updatedAt: '',
        },
        undefined,
      );
      for (const m of [analytics, geo]) await store.putBatchMembership(m, 'b9');
      await upload(geo);
      await upload(analytics);
      await intakeVersion(deps, geo);
      await intakeVersion(deps, analytics);
      const [first, second] = [queued.shift()!, queued.shift()!];
      await runExecution(first.name, first.input);
      await runExecution(second.name, second.input, true);
      expect((await store.getBatch('b9'))!.state).toBe('TESTING');

      await runExecution(second.name, second.input);
      while (queued.length > 0) {
        const next = queued.shift()!;
        await runExecution(next.name, next.input);
      }
      expect((await status('geo@1.0.0')).status).toBe('PUBLISHED');
      expect((await status('analytics@6.1.0')).status).toBe('PUBLISHED');
      expect((await store.getBatch('b9'))!.state).toBe('PUBLISHED');
    });

    it('ends TEST_FAILED, not stranded, when the test fails on the second run', async () => {
      await upload({ name: 'analytics', version: '6.1.0' });
      await intakeVersion(deps, { name: 'analytics', version: '6.1.0' });
      const { name, input } = queued.shift()!;
      await runExecution(name, input, true);
      failingVerification = new Set(['analytics@6.1.0']);
      await runExecution(name, input);
      expect(executions.at(-1)).toMatchObject({ status: 'FAILED', error: 'SdkTestFailed' });
      expect((await status('analytics@6.1.0')).status).toBe('TEST_FAILED');
      // A third run (a second crash later on) repeats nothing but the outcome.
      await runExecution(name, input);
      expect(executions.at(-1)!.states).toEqual(['Validate', 'Stage', 'NotifyTestFailed']);
    });
  });

  describe('CONFLICT is re-evaluated and never a dead end (issue 14, item 16)', () => {
    const maps: Sdk = { name: 'maps', version: '1.0.0', dependencies: { analytics: '>=7' } };

    it('replays maps waiting for analytics >=7: analytics 6.4.0 causes no conflict, 7.0.0 publishes maps', async () => {
      await push(maps);
      expect((await status('maps@1.0.0')).status).toBe('WAITING');
      await push({ name: 'analytics', version: '6.4.0' });
      const held = await status('maps@1.0.0');
      expect(held.status).toBe('WAITING');
      expect(notifications.filter((n) => n.event === 'sdk-conflict')).toEqual([]);
      await push({ name: 'analytics', version: '7.0.0' });
      expect((await status('maps@1.0.0')).status).toBe('PUBLISHED');
    });

    it('clears a CONFLICT left by an earlier decision when the published set changes, without a push', async () => {
      await push(maps);
      const record = await status('maps@1.0.0');
      await store.saveVersion(
        {
          ...record,
          status: 'CONFLICT',
          reason: 'conflict: analytics 6.4.0 is staged; no version of analytics satisfies both >=7 and 6.4.0',
        },
        record.rev,
      );
      await push({ name: 'analytics', version: '7.0.0' });
      expect((await status('maps@1.0.0')).status).toBe('PUBLISHED');
      expect(executions.some((e) => e.name.startsWith('maps-1_0_0-restage'))).toBe(true);
    });

    it('decides a re-push of the same bytes in CONFLICT again instead of refusing it', async () => {
      await push({ name: 'analytics', version: '7.0.0' });
      await push(maps);
      const record = await status('maps@1.0.0');
      expect(record.status).toBe('PUBLISHED');
      await push({ name: 'social', version: '1.0.0' });
      const social = await status('social@1.0.0');
      await store.saveVersion(
        { ...social, status: 'CONFLICT', reason: 'conflict: recorded before the fix' },
        social.rev,
      );
      // The same bytes pushed again.
      await objects.copy('host', social.upload.artifactsKey, 'host', artifactsKey(social));
      await objects.copy('host', social.upload.metadataKey, 'host', metadataKey(social, 'lockstep-sdk.yaml'));
      const outcome = await intakeVersion(deps, { name: 'social', version: '1.0.0' });
      expect(outcome).toMatchObject({ started: true, execution: expect.stringMatching(/^social-1_0_0-restage-/) });
      while (queued.length > 0) {
        const next = queued.shift()!;
        await runExecution(next.name, next.input);
      }
      expect((await status('social@1.0.0')).status).toBe('PUBLISHED');
    });
  });

  describe('the intake poll (issue 9, item 15)', () => {
    it('takes in more uploads than one page over several passes, moving each out of incoming/', async () => {
      const sdks = Array.from({ length: 7 }, (_, i) => ({ name: `lib${i}`, version: '1.0.0' }));
      for (const sdk of sdks) await upload(sdk);
      expect(await objects.list('host', 'incoming/')).toHaveLength(14);
      const limits = { pageKeys: 4, pages: 1 };

      const passes: { started: number; cursor?: string }[] = [];
      for (let pass = 0; pass < 5; pass++) {
        const result = await pollSdkHost(deps, `poll-${pass}`, limits);
        passes.push({
          started: result.intakes.filter((o) => o.started).length,
          ...(result.cursor !== undefined ? { cursor: result.cursor } : {}),
        });
      }
      // Two uploads (four keys) a pass, going on where the last pass stopped, then an empty pass.
      expect(passes.map((p) => p.started)).toEqual([2, 2, 2, 1, 0]);
      expect(passes[0]!.cursor).toBe('incoming/lib1/1.0.0/lockstep-sdk.yaml');
      expect(passes[3]!.cursor).toBeUndefined();
      expect(await objects.list('host', 'incoming/')).toEqual([]);
      expect(await objects.list('host', 'received/')).toHaveLength(14);

      // The executions read the moved objects.
      while (queued.length > 0) {
        const next = queued.shift()!;
        await runExecution(next.name, next.input);
      }
      expect(await listed()).toEqual(sdks.map((s) => `${s.name}@1.0.0`));
    });

    it('leaves an upload replaced while it was taken in where the provider put it', async () => {
      await upload({ name: 'analytics', version: '6.1.0' });
      const original = (await objects.list('host', 'incoming/')).find((o) => o.key.endsWith('artifacts.zip'))!;
      const realCopy = objects.copy.bind(objects);
      // The provider uploads a new archive right after intake copied the first one.
      objects.copy = async (fromBucket, fromKey, toBucket, toKey) => {
        await realCopy(fromBucket, fromKey, toBucket, toKey);
        if (fromKey === original.key) await objects.put('host', fromKey, Buffer.from('a newer upload'));
      };
      await intakeVersion(deps, { name: 'analytics', version: '6.1.0' });
      objects.copy = realCopy;
      expect((await objects.list('host', 'incoming/')).map((o) => o.key)).toEqual([original.key]);
      expect((await objects.getBytes('host', original.key))!.toString()).toBe('a newer upload');
    });
  });

  describe('batches', () => {
    const openBatch = async (id: string, members: Sdk[]) => {
      await store.saveBatch(
        {
          id,
          members: members.map((m) => ({ name: m.name, version: m.version })),
          state: 'OPEN',
          reason: '',
          createdAt: '',
          updatedAt: '',
        },
        undefined,
      );
      for (const m of members) await store.putBatchMembership(m, id);
    };
    const analytics: Sdk = { name: 'analytics', version: '6.1.0' };
    const geo: Sdk = { name: 'geo', version: '1.0.0', dependencies: { analytics: '^6.0.0' } };

    it('publishes every member of a batch together once all have arrived', async () => {
      await openBatch('b1', [analytics, geo]);
      await push(geo);
      expect((await status('geo@1.0.0')).reason).toContain('rest of batch b1');
      await push(analytics);
      expect((await status('geo@1.0.0')).status).toBe('PUBLISHED');
      expect((await status('analytics@6.1.0')).status).toBe('PUBLISHED');
      expect((await store.getBatch('b1'))!.state).toBe('PUBLISHED');
      expect(await listed()).toEqual(['analytics@6.1.0', 'geo@1.0.0']);
      // One tester run for the whole batch.
      expect(executions.flatMap((e) => e.states).filter((s) => s === 'RunTester')).toHaveLength(1);
    });

    it('publishes no member when one member fails its tests', async () => {
      failingTests = new Set(['geo@1.0.0']);
      await openBatch('b2', [analytics, geo]);
      await push(geo, analytics);
      expect((await status('geo@1.0.0')).status).toBe('TEST_FAILED');
      expect((await status('analytics@6.1.0')).status).toBe('TEST_FAILED');
      expect((await store.getBatch('b2'))!.state).toBe('FAILED');
      expect(await index()).toBeUndefined();
      expect(await objects.exists('packages', 'public/analytics/6.1.0/analytics-6.1.0.zip')).toBe(false);
    });
  });
});
