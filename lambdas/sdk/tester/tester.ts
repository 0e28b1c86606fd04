/**
 * The tester: checks a staged set the way a consumer would meet it, and reports per package.
 *
 * For every package of the plan (the members under test and what they resolved to, staged or published):
 * download (S3), verify size and SHA-256 against the plan, unpack. Then for each member:
 *
 * - `manifest`: every file that `manifest.json` lists is there with its SHA-256;
 * - `metadata`: `lockstep-sdk.json` passes the metadata rules and names this version;
 * - `architectures:<file>`: each binary (ELF, Mach-O, universal, static archive under `lib/` and `frameworks/`)
 *   holds every CPU architecture of `platform.architectures` (`inspectFile` + `checkArchitectures`);
 * - `sample-app`: a generated `main.c` that includes every public header of the whole set and is linked with every
 *   library of the set (static ones whole, so two SDKs that embed the same symbols fail to link) builds and runs.
 *   It needs a C compiler (`$CC`, else `cc`) and a set this machine can run: every member declares platform
 *   `linux` and this machine's architecture. Policy: a set for a platform the tester cannot build (iOS SDKs on a
 *   Linux builder) may still be published, so the check is recorded skipped (passed) with the message
 *   "sample app not built: <reason>", which the status reason and the publish notification repeat. A set the
 *   tester can build but no compiler to build it is a failure: the tester image is ours to provision;
 * - `checks-script`: a `lockstep-checks.sh` the provider put in the package (the converter places it under
 *   `resources/`) runs with bash in a scratch folder of its own, with `LOCKSTEP_SDK_DIR` (the package folder),
 *   `LOCKSTEP_SAMPLE_APP` (the built sample app, empty when not built), `LOCKSTEP_INCLUDE_PATH` and
 *   `LOCKSTEP_LIBRARY_PATH` (colon lists over the set) and `CC`. The metadata format has no `checks` field (its
 *   rules refuse unknown fields), so the script is the way an SDK declares its checks.
 *
 * Provider code is untrusted. The checks script, the compiler and linker over provider files, and the sample app
 * (linked against provider libraries, whose constructors run) never see this process's environment: in CodeBuild
 * it carries the build's credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_*`, `CODEBUILD_*`), locally
 * the S3 endpoint and keys. They run with `providerEnvironment()` only (PATH, HOME and TMPDIR in a scratch folder,
 * LANG, the variables above), in a scratch working folder, killed (their whole process group) after
 * `timeLimitMs`, and isolated (`sandboxIsolation`): as `nobody`, so they cannot read this process's
 * `/proc/<pid>/environ` or files, in a network namespace with no network, so nothing reaches S3, the package host
 * or a credentials endpoint. What they may see (the plan's packages, the sample app, scratch) is in a folder of
 * its own under the system temp folder, removed at the end. A machine that cannot isolate them gets a refusal as
 * the check's result, never an unisolated run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { arch as hostArch, platform as hostPlatform, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkArchitectures, normalizeArchitecture } from '../binary/architectures';
import { inspectFile, isNamedAsBinary } from '../binary/inspect';
import { DEFAULT_ARCHIVE_LIMITS, inspectArchive, type ArchiveLimits, type PackageManifest } from '../converter';
import { openEntryStream } from '../converter/inspect-archive';
import { verifyDownload } from '../install/fetch';
import { validateSdkMetadata } from '../metadata';
import type { SdkMetadata } from '../model';
import type { PackageTestResult, TestCheck, TestResults } from '../records/records';
import type { TestPlan } from '../records/test-plan';
import {
  packagePassed,
  PROVIDER_OUTPUT_LIMITS,
  SAMPLE_APP_CHECK,
  SAMPLE_APP_NOT_BUILT,
  type ProviderOutput,
} from '../records/test-results';

/** How the tester reaches S3 (the CLI passes the S3 object store). */
export interface TesterStorage {
  download(bucket: string, key: string, path: string): Promise<void>;
}

export interface TesterOptions {
  /** Scratch folder; emptied first, deleted at the end. */
  readonly workDir: string;
  /** Progress lines (the build log). @default console.log */
  readonly log?: (line: string) => void;
  /** Limits each package zip must stay within when it is unpacked (`LOCKSTEP_SDK_ARCHIVE_LIMITS`). @default DEFAULT_ARCHIVE_LIMITS */
  readonly archiveLimits?: ArchiveLimits;
  /** Longest a provider's checks script, the sample app or one compiler run may take; then it is killed. @default 5 minutes */
  readonly timeLimitMs?: number;
}

const DEFAULT_TIME_LIMIT_MS = 5 * 60_000;

/** How provider code is run: in which scratch folder, for how long, and wrapped how (or refused, and why). */
interface Sandbox {
  readonly scratch: string;
  readonly timeLimitMs: number;
  readonly isolation: Isolation;
}

/** The user provider code runs as: `nobody`, which owns nothing of the tester's and cannot read its processes. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/**
 * How provider code is isolated (issue 14 item 17, issue 9 item 20): as `nobody` (`setpriv`: it cannot read the
 * tester's `/proc/<pid>/environ`, its plan, or local mode's data folder, which is 0700), in a network namespace of
 * its own with no interface up (`unshare --net`: no route to S3, the package host's write path or a credentials
 * endpoint), with no new privileges. `LOCKSTEP_SDK_SANDBOX_NETWORK=shared` keeps the network (for a builder that
 * cannot make namespaces and whose credentials can do nothing); anything the tester cannot set up is a refusal:
 * provider code is never run with the tester's own privileges.
 */
export type Isolation =
  | { readonly ok: true; readonly prefix: readonly string[]; readonly network: 'none' | 'shared' }
  | { readonly ok: false; readonly refusal: string };

let probed: Promise<Isolation> | undefined;

/** Works out (once per process) whether provider code can be isolated here. */
export function sandboxIsolation(): Promise<Isolation> {
  return (probed ??= probeIsolation());
}

async function probeIsolation(): Promise<Isolation> {
  const network = process.env.LOCKSTEP_SDK_SANDBOX_NETWORK === 'shared' ? 'shared' : 'none';
  const drop = [
    'setpriv',
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_GID}`,
    '--clear-groups',
    '--no-new-privs',
    '--',
  ];
  const prefix = network === 'none' ? ['unshare', '--net', '--fork', '--kill-child', '--', ...drop] : drop;
  const probe = await run(prefix[0]!, [...prefix.slice(1), 'sh', '-c', 'id -u'], { cwd: '/' });
  if (probe.code === 0 && probe.output.at(-1)?.trim() === String(SANDBOX_UID)) return { ok: true, prefix, network };
  return {
    ok: false,
    refusal: `provider code not run: the tester cannot isolate it here (${lastLines(probe.output)}); it runs as root with util-linux's unshare and setpriv, so that provider code runs as nobody${
      network === 'none'
        ? ' without network (a builder that cannot create network namespaces and whose credentials can do nothing may set LOCKSTEP_SDK_SANDBOX_NETWORK=shared)'
        : ''
    }. It is never run with the tester's own privileges`,
  };
}

/** Runs provider code (or a tool over it) isolated; a refusal when isolation is not available. */
async function runProvider(
  sandbox: Sandbox,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; output: string[] }> {
  if (!sandbox.isolation.ok) return { code: 126, output: [sandbox.isolation.refusal] };
  const [first, ...rest] = sandbox.isolation.prefix;
  return run(first!, [...rest, command, ...args], { ...options, timeLimitMs: sandbox.timeLimitMs });
}

/** A folder provider code may write in. */
async function sandboxFolder(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  await chown(path, SANDBOX_UID, SANDBOX_GID);
  return path;
}

/**
 * The whole environment provider code gets: nothing is inherited but PATH (to find bash, cc and the tools a
 * checks script uses). No AWS_*, CODEBUILD_* or any other variable of the build.
 */
export function providerEnvironment(scratch: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: join(scratch, 'home'),
    TMPDIR: join(scratch, 'tmp'),
    LANG: 'C.UTF-8',
    ...extra,
  };
}

export interface Unpacked {
  readonly name: string;
  readonly version: string;
  readonly root: string;
  readonly member: boolean;
  metadata?: SdkMetadata;
}

const CHECKS_SCRIPT = 'lockstep-checks.sh';
const HEADER = /\.(h|hh|hpp|hxx)$/i;
const STATIC_LIBRARY = /\.a$/i;
const SHARED_LIBRARY = /\.so(\.\d+)*$/i;

/**
 * The trusted half (`cli.ts`, the tester project): downloads, verifies and unpacks every package of the plan, checks
 * manifests, metadata and architectures, and works out which provider code the provider-code build must run
 * (`providerCode`: the sample app, when the set is one it can build; each member's checks script). It runs no
 * provider code itself. Never throws for what it finds: problems become failed checks. The work folder is deleted
 * when the run ends, however it ends: an unpacked set can be as large as the archive limits allow, and local mode
 * runs every build on the same disk.
 */
export async function runTester(plan: TestPlan, storage: TesterStorage, options: TesterOptions): Promise<TestResults> {
  const work = resolve(options.workDir);
  try {
    return await verifyPlanIn(work, plan, storage, options);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function verifyPlanIn(
  work: string,
  plan: TestPlan,
  storage: TesterStorage,
  options: TesterOptions,
): Promise<TestResults> {
  const log = options.log ?? ((line: string) => console.log(line));
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const results = new Map<string, TestCheck[]>();
  const checksOf = (p: { name: string; version: string }) => results.get(`${p.name}@${p.version}`)!;
  for (const m of plan.members) results.set(`${m.name}@${m.version}`, []);

  const { unpacked, failures } = await fetchPlan(plan, storage, work, join(work, 'packages'), options, log);
  for (const failure of failures) {
    if (failure.member) checksOf(failure.pkg).push({ name: 'package', passed: false, message: failure.message });
    else
      for (const m of plan.members)
        checksOf(m).push({
          name: `dependency:${failure.pkg.name}`,
          passed: false,
          message: `${failure.pkg.name} ${failure.pkg.version} ${failure.message}`,
        });
  }

  for (const pkg of unpacked) {
    const manifest = await checkManifest(pkg.root);
    const metadata = await checkMetadata(pkg);
    pkg.metadata = metadata.metadata;
    if (!pkg.member) {
      // A dependency that is broken breaks the members that need it.
      for (const check of [manifest, metadata.check].filter((c) => !c.passed)) {
        for (const m of plan.members) checksOf(m).push({ ...check, name: `dependency:${pkg.name}:${check.name}` });
      }
      continue;
    }
    checksOf(pkg).push(manifest, metadata.check);
    if (metadata.metadata !== undefined) checksOf(pkg).push(...(await checkBinaries(pkg.root, metadata.metadata)));
  }

  // What provider code the provider-code build runs; this build runs none (issue 9 item 20).
  const notBuilt = sampleAppNotBuildable(unpacked);
  const checksScripts: { name: string; version: string }[] = [];
  for (const pkg of unpacked.filter((p) => p.member)) {
    if (notBuilt !== undefined) checksOf(pkg).push(notBuilt);
    if ((await findChecksScript(pkg.root)) !== undefined) checksScripts.push({ name: pkg.name, version: pkg.version });
  }
  const packages: PackageTestResult[] = plan.members.map((m) => {
    const checks = checksOf(m);
    return { name: m.name, version: m.version, passed: packagePassed(checks), checks };
  });
  return {
    planId: plan.planId,
    passed: packages.every((p) => p.passed),
    packages,
    providerCode: { sampleApp: notBuilt === undefined, checksScripts },
  };
}

/** Options of the untrusted half: the tester's, plus the C compiler. */
export interface ProviderRunnerOptions extends TesterOptions {
  /** C compiler command; null: none (a set the runner can build then fails). @default $CC, else `cc` when on PATH */
  readonly cc?: string | null;
}

/**
 * The untrusted half (`provider-runner-cli.ts`, the provider-code project, whose role can do nothing): downloads
 * and verifies the plan's packages (the same bytes the tester verified), unpacks them where `nobody` can read
 * them, then builds and runs the sample app and runs each member's checks script, isolated (`sandboxIsolation`).
 * Reports per member the `sample-app` and `checks-script` checks; the judge (`judgeTestResults`) takes only those
 * the trusted tester expected. The sandbox and work folders are deleted at the end.
 */
export async function runProviderCode(
  plan: TestPlan,
  storage: TesterStorage,
  options: ProviderRunnerOptions,
): Promise<ProviderOutput> {
  // What provider code may see (the plan's packages, the sample app, scratch folders) lives in a folder of its own
  // that `nobody` can reach, outside the work folder (whose parents, such as local mode's data folder, it cannot).
  const shared = await mkdtemp(join(tmpdir(), 'lockstep-sandbox-'));
  const work = resolve(options.workDir);
  try {
    await chmod(shared, 0o755);
    return await runProviderCodeIn(work, shared, plan, storage, options);
  } finally {
    await rm(shared, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

async function runProviderCodeIn(
  work: string,
  shared: string,
  plan: TestPlan,
  storage: TesterStorage,
  options: ProviderRunnerOptions,
): Promise<ProviderOutput> {
  const log = options.log ?? ((line: string) => console.log(line));
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const { unpacked, failures } = await fetchPlan(plan, storage, work, join(shared, 'packages'), options, log);
  for (const pkg of unpacked) pkg.metadata = (await checkMetadata(pkg)).metadata;

  const sandbox: Sandbox = {
    scratch: await sandboxFolder(join(shared, 'scratch')),
    timeLimitMs: options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
    isolation: await sandboxIsolation(),
  };
  await sandboxFolder(join(sandbox.scratch, 'home'));
  await sandboxFolder(join(sandbox.scratch, 'tmp'));
  await sandboxFolder(join(sandbox.scratch, 'work'));
  if (!sandbox.isolation.ok) log(`[provider code] ${sandbox.isolation.refusal}`);
  const cc = options.cc === undefined ? await findCompiler() : options.cc;
  const sample: SampleApp =
    failures.length > 0
      ? {
          check: {
            name: SAMPLE_APP_CHECK,
            passed: false,
            message: `${SAMPLE_APP_NOT_BUILT}${failures.map((f) => `${f.pkg.name} ${f.pkg.version} ${f.message}`).join('; ')}`,
          },
          log: [],
        }
      : await buildSampleApp(unpacked, shared, cc, sandbox, log);
  const packages: ProviderOutput['packages'][number][] = [];
  for (const member of plan.members) {
    const checks: ProviderCheck[] = [bounded(sample.check)];
    const pkg = unpacked.find((p) => p.member && p.name === member.name && p.version === member.version);
    const script = pkg === undefined ? undefined : await findChecksScript(pkg.root);
    if (pkg !== undefined && script !== undefined)
      checks.push(bounded(await runChecksScript(pkg, script, unpacked, sample.app, cc, sandbox, log)));
    packages.push({ name: member.name, version: member.version, checks });
  }
  const lines = sample.log.slice(-40).map((l) => l.slice(0, PROVIDER_OUTPUT_LIMITS.maxLogLineChars));
  return { planId: plan.planId, packages, ...(lines.length > 0 ? { log: lines } : {}) };
}

type ProviderCheck = ProviderOutput['packages'][number]['checks'][number];

/** A provider-code check whose message fits the provider output's bounds (a script may print anything). */
function bounded(check: TestCheck): ProviderCheck {
  const max = PROVIDER_OUTPUT_LIMITS.maxMessageChars;
  const name = check.name === SAMPLE_APP_CHECK ? SAMPLE_APP_CHECK : 'checks-script';
  const message = check.message.length <= max ? check.message : `${check.message.slice(0, max - 12)} [truncated]`;
  return { ...check, name, message };
}

interface FetchFailure {
  readonly pkg: TestPlan['packages'][number];
  readonly member: boolean;
  readonly message: string;
}

/** Downloads, verifies (size, SHA-256) and unpacks each package of the plan into `<into>/<name>-<version>`. */
async function fetchPlan(
  plan: TestPlan,
  storage: TesterStorage,
  work: string,
  into: string,
  options: TesterOptions,
  log: (line: string) => void,
): Promise<{ unpacked: Unpacked[]; failures: FetchFailure[] }> {
  const memberKeys = new Set(plan.members.map((m) => `${m.name}@${m.version}`));
  const unpacked: Unpacked[] = [];
  const failures: FetchFailure[] = [];
  for (const pkg of plan.packages) {
    const member = memberKeys.has(`${pkg.name}@${pkg.version}`);
    const zip = join(work, `${pkg.name}-${pkg.version}.zip`);
    const folder = join(into, `${pkg.name}-${pkg.version}`);
    try {
      log(`[tester] downloading ${pkg.name} ${pkg.version} from s3://${pkg.bucket}/${pkg.key}`);
      await storage.download(pkg.bucket, pkg.key, zip);
      await verifyDownload(createReadStream(zip), {
        label: `${pkg.name} ${pkg.version}`,
        sha256: pkg.sha256,
        size: pkg.size,
      });
      const root = await unpack(zip, folder, options.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS);
      unpacked.push({ name: pkg.name, version: pkg.version, root, member });
    } catch (error) {
      const message = `could not be downloaded and unpacked: ${(error as Error).message}`;
      log(`[tester] ${pkg.name} ${pkg.version} ${message}`);
      failures.push({ pkg, member, message });
    }
  }
  return { unpacked, failures };
}

/** Unpacks a package zip (the converter's checks apply: no escaping paths, links or bombs). @returns its root folder */
async function unpack(zip: string, folder: string, limits: ArchiveLimits): Promise<string> {
  const archive = await inspectArchive({ path: zip }, limits);
  try {
    for (const entry of archive.entries) {
      const target = resolve(folder, entry.path);
      if (!target.startsWith(folder + sep)) throw new Error(`entry ${entry.storedName} leaves the package folder`);
      if (entry.isDirectory) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await openEntryStream(archive.zipfile, entry), createWriteStream(target));
      if ((entry.mode & 0o111) !== 0) await chmod(target, 0o755);
    }
  } finally {
    archive.zipfile.close();
  }
  const tops = await readdir(folder);
  if (tops.length !== 1) throw new Error(`the package holds ${tops.length} top-level folders, not one`);
  return join(folder, tops[0]!);
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function checkManifest(root: string): Promise<TestCheck> {
  let manifest: PackageManifest;
  try {
    manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as PackageManifest;
  } catch (error) {
    return {
      name: 'manifest',
      passed: false,
      message: `manifest.json is missing or not JSON: ${(error as Error).message}`,
    };
  }
  const wrong: string[] = [];
  for (const file of manifest.files) {
    const path = join(root, file.path);
    try {
      if ((await stat(path)).size !== file.size || (await sha256Of(path)) !== file.sha256)
        wrong.push(`${file.path} differs`);
    } catch {
      wrong.push(`${file.path} is missing`);
    }
  }
  return wrong.length === 0
    ? { name: 'manifest', passed: true, message: `all ${manifest.files.length} files match manifest.json` }
    : {
        name: 'manifest',
        passed: false,
        message: `${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ''}`,
      };
}

async function checkMetadata(pkg: Unpacked): Promise<{ check: TestCheck; metadata?: SdkMetadata }> {
  try {
    const tree = JSON.parse(await readFile(join(pkg.root, 'lockstep-sdk.json'), 'utf8')) as unknown;
    // Whether a deprecated-in-favor-of SDK exists was checked at intake, against the whole host.
    const metadata = validateSdkMetadata(tree, { sdkExists: () => true });
    if (metadata.name !== pkg.name || metadata.version !== pkg.version) {
      return {
        check: {
          name: 'metadata',
          passed: false,
          message: `lockstep-sdk.json names ${metadata.name} ${metadata.version}, not ${pkg.name} ${pkg.version}`,
        },
      };
    }
    return {
      check: { name: 'metadata', passed: true, message: 'lockstep-sdk.json passes the metadata rules' },
      metadata,
    };
  } catch (error) {
    return { check: { name: 'metadata', passed: false, message: (error as Error).message } };
  }
}

async function listFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk(folder);
  return out;
}

async function checkBinaries(root: string, metadata: SdkMetadata): Promise<TestCheck[]> {
  const checks: TestCheck[] = [];
  for (const file of [...(await listFiles(join(root, 'lib'))), ...(await listFiles(join(root, 'frameworks')))]) {
    const path = relative(root, file).split(sep).join('/');
    try {
      const info = await inspectFile(file);
      if (info === undefined) {
        if (isNamedAsBinary(path))
          checks.push({
            name: `architectures:${path}`,
            passed: false,
            message:
              'cannot be read: it is named as a binary but is neither ELF, Mach-O nor a static archive (damaged?); rebuild it',
          });
        continue;
      }
      const result = checkArchitectures(metadata.platform.architectures, info.architectures);
      checks.push({ name: `architectures:${path}`, passed: result.ok, message: result.message });
    } catch (error) {
      checks.push({
        name: `architectures:${path}`,
        passed: false,
        message: `cannot be read: ${(error as Error).message}`,
      });
    }
  }
  if (checks.length === 0)
    checks.push({
      name: 'architectures',
      passed: true,
      skipped: true,
      message: 'the package holds no binaries under lib/ or frameworks/',
    });
  return checks;
}

async function findCompiler(): Promise<string | null> {
  const candidate = process.env.CC && process.env.CC !== '' ? process.env.CC : 'cc';
  const found = await run('sh', ['-c', `command -v ${JSON.stringify(candidate)}`], { cwd: process.cwd() });
  return found.code === 0 ? candidate : null;
}

interface SampleApp {
  readonly check: TestCheck;
  readonly app?: string;
  readonly log: readonly string[];
}

function thisArchitecture(): string {
  return normalizeArchitecture(hostArch() === 'x64' ? 'x86_64' : hostArch());
}

/**
 * The skipped `sample-app` check when the set is not one this machine builds (a member with unreadable metadata,
 * a platform or architecture other than this machine's linux); undefined when it is built. The trusted tester and
 * the provider-code build run on the same image, so both decide alike; the judge goes by the tester's decision.
 */
export function sampleAppNotBuildable(packages: readonly Unpacked[]): TestCheck | undefined {
  const notBuilt = (reason: string): TestCheck => ({
    name: SAMPLE_APP_CHECK,
    passed: true,
    skipped: true,
    message: `${SAMPLE_APP_NOT_BUILT}${reason}`,
  });
  const members = packages.filter((p) => p.member);
  // The metadata check has failed those members already.
  if (members.some((m) => m.metadata === undefined)) return notBuilt('a member has unreadable metadata');
  if (hostPlatform() !== 'linux')
    return notBuilt(`this machine runs ${hostPlatform()}, the sample app is built on linux`);
  const here = thisArchitecture();
  const foreign = members.filter(
    (m) =>
      m.metadata!.platform.name !== 'linux' ||
      !m.metadata!.platform.architectures.map(normalizeArchitecture).includes(here),
  );
  if (foreign.length > 0)
    return notBuilt(
      `${foreign.map((m) => `${m.name} targets ${m.metadata!.platform.name} ${m.metadata!.platform.architectures.join('/')}`).join(', ')}; the tester builds linux ${here}`,
    );
  return undefined;
}

async function buildSampleApp(
  packages: readonly Unpacked[],
  work: string,
  cc: string | null,
  sandbox: Sandbox,
  log: (line: string) => void,
): Promise<SampleApp> {
  const notBuilt = sampleAppNotBuildable(packages);
  if (notBuilt !== undefined) return { check: notBuilt, log: [] };
  const here = thisArchitecture();
  if (cc === null) {
    return {
      check: {
        name: SAMPLE_APP_CHECK,
        passed: false,
        message: `${SAMPLE_APP_NOT_BUILT}the provider-code build has no C compiler (set CC or install cc in the build image); it must build linux ${here} sets`,
      },
      log: [],
    };
  }

  const includeDirs: string[] = [];
  const headers: string[] = [];
  const staticLibs: string[] = [];
  const sharedLibs: string[] = [];
  for (const pkg of packages) {
    const include = join(pkg.root, 'include');
    const found = (await listFiles(include)).filter((f) => HEADER.test(f));
    if (found.length > 0) includeDirs.push(include);
    headers.push(...found.map((f) => relative(include, f).split(sep).join('/')));
    const libs = await listFiles(join(pkg.root, 'lib'));
    staticLibs.push(...libs.filter((f) => STATIC_LIBRARY.test(f)));
    sharedLibs.push(...libs.filter((f) => SHARED_LIBRARY.test(f)));
  }
  const dir = await sandboxFolder(join(work, 'sample-app'));
  const source = [
    '/* Generated by the Lockstep tester: every public header of the staged set, every library linked. */',
    ...headers.map((h) => `#include "${h}"`),
    '',
    'int main(void) { return 0; }',
    '',
  ].join('\n');
  await writeFile(join(dir, 'main.c'), source);
  const app = join(dir, 'sample-app');
  // The compiler and the linker read provider headers and libraries: they run isolated too.
  const limited = { env: providerEnvironment(sandbox.scratch) };
  const compile = await runProvider(
    sandbox,
    cc,
    ['-std=c11', '-Wall', '-c', 'main.c', '-o', 'main.o', ...includeDirs.map((d) => `-I${d}`)],
    { cwd: dir, ...limited },
  );
  const link =
    compile.code === 0
      ? await runProvider(
          sandbox,
          cc,
          [
            'main.o',
            ...(staticLibs.length > 0 ? ['-Wl,--whole-archive', ...staticLibs, '-Wl,--no-whole-archive'] : []),
            ...sharedLibs,
            ...[...new Set(sharedLibs.map(dirname))].map((d) => `-Wl,-rpath,${d}`),
            '-o',
            app,
          ],
          { cwd: dir, ...limited },
        )
      : undefined;
  const ran =
    link?.code === 0
      ? await runProvider(sandbox, app, [], { cwd: await scratchFolder(sandbox, 'sample-app'), ...limited })
      : undefined;
  const output = [...compile.output, ...(link?.output ?? []), ...(ran?.output ?? [])];
  for (const line of output) log(`[sample-app] ${line}`);
  const summary = `${headers.length} headers, ${staticLibs.length} static and ${sharedLibs.length} shared libraries`;
  if (compile.code !== 0)
    return {
      check: {
        name: 'sample-app',
        passed: false,
        message: `the headers do not compile together (${summary}): ${lastLines(compile.output)}`,
      },
      log: output,
    };
  if (link!.code !== 0)
    return {
      check: {
        name: 'sample-app',
        passed: false,
        message: `the libraries do not link together (${summary}): ${lastLines(link!.output)}`,
      },
      log: output,
    };
  if (ran!.code !== 0)
    return {
      check: {
        name: 'sample-app',
        passed: false,
        message: `the sample app built but exited with ${ran!.code}: ${lastLines(ran!.output)}`,
      },
      log: output,
    };
  return { check: { name: 'sample-app', passed: true, message: `built and ran with ${summary}` }, app, log: [] };
}

async function findChecksScript(root: string): Promise<string | undefined> {
  return (await listFiles(root)).find((f) => f.endsWith(`${sep}${CHECKS_SCRIPT}`));
}

async function runChecksScript(
  pkg: Unpacked,
  script: string,
  set: readonly Unpacked[],
  app: string | undefined,
  cc: string | null,
  sandbox: Sandbox,
  log: (line: string) => void,
): Promise<TestCheck> {
  const result = await runProvider(sandbox, 'bash', [script], {
    cwd: await scratchFolder(sandbox, `checks-${pkg.name}-${pkg.version}`),
    env: providerEnvironment(sandbox.scratch, {
      LOCKSTEP_SDK_DIR: pkg.root,
      LOCKSTEP_SAMPLE_APP: app ?? '',
      LOCKSTEP_INCLUDE_PATH: set.map((p) => join(p.root, 'include')).join(':'),
      LOCKSTEP_LIBRARY_PATH: set.map((p) => join(p.root, 'lib')).join(':'),
      CC: cc ?? '',
    }),
  });
  for (const line of result.output) log(`[${pkg.name} checks] ${line}`);
  return result.code === 0
    ? { name: 'checks-script', passed: true, message: `${CHECKS_SCRIPT} passed` }
    : {
        name: 'checks-script',
        passed: false,
        message: `${CHECKS_SCRIPT} exited with ${result.code}: ${lastLines(result.output)}`,
      };
}

function lastLines(lines: readonly string[]): string {
  return lines.slice(-5).join(' | ') || '(no output)';
}

/** An empty working folder for one run of provider code. */
async function scratchFolder(sandbox: Sandbox, name: string): Promise<string> {
  const dir = join(sandbox.scratch, 'work', name.replace(/[^A-Za-z0-9._-]/g, '_'));
  await rm(dir, { recursive: true, force: true });
  return sandboxFolder(dir);
}

/**
 * Runs a command and collects its output. With `timeLimitMs`, the command gets a process group of its own and the
 * whole group is killed when the limit passes (a script's children too); the result is then code 124.
 */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeLimitMs?: number },
): Promise<{ code: number; output: string[] }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.timeLimitMs !== undefined,
    });
    const output: string[] = [];
    let timedOut = false;
    const timer =
      options.timeLimitMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, options.timeLimitMs);
    const collect = (chunk: Buffer) =>
      output.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== ''),
      );
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ code: 127, output: [...output, error.message] });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut)
        resolvePromise({
          code: 124,
          output: [
            ...output.slice(-199),
            `killed after the time limit of ${Math.round(options.timeLimitMs! / 1000)} s`,
          ],
        });
      else resolvePromise({ code: code ?? 1, output: output.slice(-200) });
    });
  });
}
