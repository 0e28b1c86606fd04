/**
 * `lockstep sdk push|status|install`: the provider's and the consumer's side of SDK publishing, over the upload and
 * download APIs. `--api` and `--token` default to the local mode running on `--data-dir` (its
 * `sdk-endpoints.json`): the provider token for push and status, the employee consumer token for install.
 * `lockstep sdk token`: the operator's side, issuing those tokens straight into the SDK table (local or AWS).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import yazl from 'yazl';
import { LockstepError } from '../../lambdas/core/errors';
import type { PackageIndex } from '../../lambdas/sdk/host/package-index';
import { installPackages, type Downloader } from '../../lambdas/sdk/install/fetch';
import { LOCK_FILE_NAME, readLockFile, writeLockFile } from '../../lambdas/sdk/install/lock-file';
import { CONSUMER_MANIFEST_NAME, parseConsumerManifest } from '../../lambdas/sdk/install/manifest';
import { planInstall } from '../../lambdas/sdk/install/plan';
import { METADATA_FILE_NAMES, parseMetadataDocument } from '../../lambdas/sdk/metadata';
import type { VersionStatus } from '../../lambdas/sdk/service/uploads';
import { DEFAULT_LOCAL_DATA_DIR, readLocalSdkEndpoints } from '../../local/sdk/connection';
import { durationMs } from '../../lambdas/core/config/schema';
import type { CredentialRole } from '../../lambdas/sdk/records/records';
import { connectToLocalSystem } from '../../local/assembly/connection';

/** A push, status or install could not be done; the message says what to fix. */
export class SdkCommandError extends LockstepError {}

export interface ApiOptions {
  /** Base URL of the SDK APIs (the HTTP API endpoint, without `/sdk`). */
  readonly api: string;
  readonly token?: string;
}

/** Where to reach the APIs: explicit options first, then the local mode on `dataDir`. */
export function resolveApi(
  options: { api?: string; token?: string; dataDir?: string },
  role: 'provider' | 'consumer',
): ApiOptions {
  const local = readLocalSdkEndpoints(options.dataDir ?? DEFAULT_LOCAL_DATA_DIR);
  const api = options.api ?? local?.api;
  if (api === undefined)
    throw new SdkCommandError(
      'No SDK API to talk to: pass --api https://<api id>.execute-api.<region>.amazonaws.com, or start local mode (npm start)',
    );
  const token =
    options.token ??
    process.env.LOCKSTEP_SDK_TOKEN ??
    (options.api === undefined ? (role === 'provider' ? local?.providerToken : local?.consumerToken) : undefined);
  return { api: api.replace(/\/+$/, ''), ...(token !== undefined ? { token } : {}) };
}

async function call<T>(api: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${api.api}${path}`, {
    method,
    headers: {
      ...(api.token !== undefined ? { authorization: `Bearer ${api.token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // plain text
    }
    throw new SdkCommandError(`${method} ${path} answered ${response.status}: ${message}`, {
      details: { status: response.status },
    });
  }
  return JSON.parse(text) as T;
}

// ---- push ----

export interface PushedSdk {
  readonly name: string;
  readonly version: string;
  readonly uploadId: string;
  readonly execution?: string;
  readonly started: boolean;
  readonly reason?: string;
}

/** The metadata file of an SDK folder and the name and version it declares. */
export function readSdkFolder(dir: string): { metadataFile: string; name: string; version: string } {
  const files = readdirSync(dir);
  const metadataFile = Object.keys(METADATA_FILE_NAMES).find((f) => files.includes(f));
  if (metadataFile === undefined)
    throw new SdkCommandError(
      `${dir} holds no metadata file; add one of ${Object.keys(METADATA_FILE_NAMES).join(', ')}`,
    );
  const { tree } = parseMetadataDocument(readFileSync(join(dir, metadataFile)), { fileName: metadataFile });
  const { name, version } = (tree ?? {}) as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string')
    throw new SdkCommandError(`${join(dir, metadataFile)} must name the SDK and its version (name, version)`);
  return { metadataFile, name, version };
}

/** The folder's `artifacts.zip` when it has one, else a zip of the whole folder (the metadata file left out). */
export async function archiveOf(dir: string, metadataFile: string): Promise<Buffer> {
  const given = join(dir, 'artifacts.zip');
  try {
    if (statSync(given).isFile()) return await readFile(given);
  } catch {
    // none: zip the folder
  }
  const zip = new yazl.ZipFile();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, entry.name);
      const inside = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && inside !== metadataFile) zip.addFile(path, inside, { mode: statSync(path).mode });
    }
  };
  walk(dir);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function put(url: string, body: Buffer, what: string): Promise<void> {
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
  if (!response.ok)
    throw new SdkCommandError(
      `Uploading ${what} failed with ${response.status}: ${(await response.text()).slice(0, 300)}`,
    );
}

/**
 * Pushes SDK folders: upload URLs, the archive and the metadata, then the completion signal. With `batch`, every
 * folder is declared a member of that batch (published together or not at all).
 */
export async function pushSdks(
  api: ApiOptions,
  dirs: readonly string[],
  options: { batch?: string } = {},
): Promise<PushedSdk[]> {
  const folders = dirs.map((d) => ({ dir: resolve(d), ...readSdkFolder(resolve(d)) }));
  const members = folders.map((f) => `${f.name}@${f.version}`);
  // The publishing execution would refuse these only after the push was reported as started: refuse them here.
  for (const folder of folders) await refuseRepublish(api, folder);
  const pushed: PushedSdk[] = [];
  for (const folder of folders) {
    const grant = await call<{ uploadId: string; artifacts: { url: string }; metadata: { url: string } }>(
      api,
      'POST',
      '/sdk/uploads',
      {
        name: folder.name,
        version: folder.version,
        metadataFile: folder.metadataFile,
        ...(options.batch !== undefined ? { batch: { id: options.batch, members } } : {}),
      },
    );
    await put(
      grant.artifacts.url,
      await archiveOf(folder.dir, folder.metadataFile),
      `${folder.name} ${folder.version} artifacts.zip`,
    );
    await put(
      grant.metadata.url,
      await readFile(join(folder.dir, folder.metadataFile)),
      `${folder.name} ${folder.version} ${folder.metadataFile}`,
    );
    const done = await call<PushedSdk>(api, 'POST', `/sdk/uploads/${grant.uploadId}/complete`);
    pushed.push(done);
  }
  return pushed;
}

/**
 * A published (or withdrawn) version never changes: pushing it again is refused, unless the metadata withdraws it
 * (`supported: false`). @throws SdkCommandError with the reason
 */
async function refuseRepublish(
  api: ApiOptions,
  folder: { dir: string; metadataFile: string; name: string; version: string },
): Promise<void> {
  const versions = await fetchStatus(api, `${folder.name}@${folder.version}`);
  const done = versions.find((v) => v.status === 'PUBLISHED' || v.status === 'WITHDRAWN');
  if (done === undefined) return;
  const { tree } = parseMetadataDocument(readFileSync(join(folder.dir, folder.metadataFile)), {
    fileName: folder.metadataFile,
  });
  const supported = (tree as { supported?: unknown } | undefined)?.supported;
  if (done.status === 'PUBLISHED' && (supported === false || supported === 'false')) return;
  throw new SdkCommandError(
    `${folder.name}@${folder.version} is already ${done.status.toLowerCase()} (${done.reason}); a published version never changes: ` +
      'give the folder a new version, or set supported: false in its metadata to withdraw this one',
    { details: { name: folder.name, version: folder.version, status: done.status } },
  );
}

// ---- status ----

export async function fetchStatus(api: ApiOptions, target?: string): Promise<VersionStatus[]> {
  const [name, version] = target === undefined ? [] : target.split('@');
  const query = new URLSearchParams({ ...(name ? { name } : {}), ...(version ? { version } : {}) }).toString();
  return (await call<{ versions: VersionStatus[] }>(api, 'GET', `/sdk/status${query ? `?${query}` : ''}`)).versions;
}

export function formatStatus(versions: readonly VersionStatus[]): string[] {
  if (versions.length === 0) return ['(no SDK versions)'];
  const width = Math.max(...versions.map((v) => `${v.name}@${v.version}`.length));
  return versions.flatMap((v) => {
    const lines = [`${`${v.name}@${v.version}`.padEnd(width)}  ${v.status.padEnd(11)}  ${v.reason}`];
    for (const pkg of v.tests?.packages ?? []) {
      if (pkg.name !== v.name || pkg.version !== v.version) continue;
      for (const check of pkg.checks)
        lines.push(
          `${' '.repeat(width)}    ${check.skipped ? 'skip' : check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}`,
        );
    }
    return lines;
  });
}

// ---- install ----

/** Downloads through the download API: it answers with a (signed) URL, which is then fetched. */
export class HttpDownloader implements Downloader {
  constructor(private readonly api: ApiOptions) {}

  async download(item: Parameters<Downloader['download']>[0]): Promise<AsyncIterable<Uint8Array>> {
    const path = `/sdk/download/${encodeURIComponent(item.name)}/${encodeURIComponent(item.version)}?file=${encodeURIComponent(item.file.name)}`;
    const { url } = await call<{ url: string }>(this.api, 'GET', path);
    const response = await fetch(url);
    if (!response.ok || response.body === null) {
      // The status code is the error; a body that cannot be read only leaves the message shorter.
      const text = await response.text().catch(() => '');
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // plain text
      }
      throw new SdkCommandError(
        `Downloading ${item.name} ${item.version} ${item.file.name} failed with ${response.status}: ${message}`,
      );
    }
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }
}

export interface InstallOptions {
  readonly manifest: string;
  readonly dir: string;
  /** @default lockstep-sdk.lock.json next to the manifest */
  readonly lockFile?: string;
  /** Told before a locally changed file in `dir` is replaced. @default a warning on stderr */
  readonly onLocalChange?: (notice: string) => void;
}

export interface InstallSummary {
  readonly installed: readonly { name: string; version: string; path: string; downloaded: boolean }[];
  readonly lockFile: string;
  readonly reusedLock: boolean;
  readonly warnings: readonly string[];
}

/** Resolves the manifest against the index, downloads and verifies every file, then writes the lock file. */
export async function installSdks(api: ApiOptions, options: InstallOptions): Promise<InstallSummary> {
  const manifestPath = resolve(options.manifest);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new SdkCommandError(`No manifest at ${manifestPath}; write one, e.g.\nsdks:\n  maps: "^1.0.0"`);
  }
  const manifest = parseConsumerManifest(text, manifestPath);
  const lockFile = resolve(options.lockFile ?? join(manifestPath, '..', LOCK_FILE_NAME));
  const index = await call<PackageIndex>(api, 'GET', '/sdk/index');
  const plan = planInstall({ manifest, index, lock: await readLockFile(lockFile) });
  const installed = await installPackages(plan, {
    downloader: new HttpDownloader(api),
    directory: resolve(options.dir),
    onLocalChange: options.onLocalChange ?? ((notice) => console.error(`warning: ${notice}`)),
  });
  await writeLockFile(lockFile, plan.lock);
  return {
    installed: installed.map((i) => ({
      name: i.item.name,
      version: i.item.version,
      path: i.path,
      downloaded: i.downloaded,
    })),
    lockFile,
    reusedLock: plan.reusedLock,
    warnings: plan.warnings,
  };
}

// ---- token ----

export interface TokenRequest {
  readonly id: string;
  readonly roles: readonly CredentialRole[];
  readonly groups: readonly string[];
  readonly sdks: readonly string[];
  /** e.g. `90d`; @default never expires */
  readonly expires?: string;
}

/**
 * Issues a bearer token: the SDK table keeps only its SHA-256, so the token is shown once. With `table` the
 * command writes to that DynamoDB table with the caller's AWS credentials (the stack's `SdkTableName` output);
 * without it, to the local mode running on `dataDir`.
 */
export async function issueSdkToken(
  request: TokenRequest,
  target: { table?: string; dataDir: string },
): Promise<{ token: string; expiresAt?: string }> {
  const roles = request.roles.filter((role): role is CredentialRole => role === 'consumer' || role === 'provider');
  if (roles.length === 0 || roles.length !== request.roles.length) {
    throw new SdkCommandError(
      `--role must be consumer or provider (repeat it for both), not ${request.roles.join(', ') || 'nothing'}`,
    );
  }
  if (roles.includes('provider') && request.sdks.length === 0) {
    throw new SdkCommandError('a provider token needs --sdks: the SDK names it may push (or * for any)');
  }
  let expiresAt: Date | undefined;
  if (request.expires !== undefined) {
    if (!/^\d+(s|m|h|d)$/.test(request.expires))
      throw new SdkCommandError(`--expires takes a duration such as 90d or 12h, not "${request.expires}"`);
    expiresAt = new Date(Date.now() + durationMs(request.expires));
  }
  if (target.table !== undefined) process.env.LOCKSTEP_SDK_TABLE = target.table;
  else {
    connectToLocalSystem(target.dataDir);
    if (!process.env.LOCKSTEP_SDK_TABLE)
      throw new SdkCommandError(
        'the local system runs without SDK publishing (started with --no-sdk); restart it without that flag',
      );
  }
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const { sdkStore } = await import('../../lambdas/adapters/sdk-runtime');
  const { issueToken } = await import('../../lambdas/sdk/service/credentials');
  const { token, credential } = await issueToken(sdkStore(), {
    id: request.id,
    roles,
    groups: request.groups,
    sdks: request.sdks,
    now: new Date(),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  });
  return { token, ...(credential.expiresAt !== undefined ? { expiresAt: credential.expiresAt } : {}) };
}

function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

export function register(program: Command): void {
  const sdk = program.command('sdk').description('Publish SDKs (push, status) and install them (install)');
  const common = (command: Command) =>
    command
      .option('--api <url>', 'SDK API base URL (default: the local mode on --data-dir)')
      .option('--token <token>', 'bearer token (default: $LOCKSTEP_SDK_TOKEN, else the local demo token)')
      .option('--data-dir <dir>', 'local mode data folder', DEFAULT_LOCAL_DATA_DIR);

  common(
    sdk
      .command('push <dirs...>')
      .description('Upload SDK folders (metadata + files, or artifacts.zip) and start publishing'),
  )
    .option('--batch <id>', 'publish these folders together or not at all')
    .action(async (dirs: string[], options: { api?: string; token?: string; dataDir?: string; batch?: string }) => {
      const pushed = await pushSdks(
        resolveApi(options, 'provider'),
        dirs,
        options.batch !== undefined ? { batch: options.batch } : {},
      );
      for (const p of pushed) {
        console.log(
          `${p.name}@${p.version}: ${p.started ? `publishing (execution ${p.execution})` : `not started: ${p.reason ?? 'unknown'}`}`,
        );
      }
      // A push that started nothing for a reason was refused: say so with the exit code too.
      if (pushed.some((p) => !p.started && p.reason !== undefined)) process.exitCode = 1;
      console.log(
        `Follow it with: lockstep sdk status ${pushed.length === 1 ? `${pushed[0]!.name}@${pushed[0]!.version}` : ''}`.trimEnd(),
      );
    });

  common(sdk.command('status [target]').description('Status of pushed SDK versions (name or name@version)'))
    .option('--json', 'print JSON')
    .action(
      async (
        target: string | undefined,
        options: { api?: string; token?: string; dataDir?: string; json?: boolean },
      ) => {
        const versions = await fetchStatus(resolveApi(options, 'provider'), target);
        console.log(options.json ? JSON.stringify(versions, null, 2) : formatStatus(versions).join('\n'));
      },
    );

  common(sdk.command('install').description('Install the SDKs of a manifest, verify checksums, write the lock file'))
    .option('--manifest <file>', 'consumer manifest', CONSUMER_MANIFEST_NAME)
    .option('--dir <dir>', 'where SDKs are installed', 'vendor/sdks')
    .option('--lock <file>', `lock file (default: ${LOCK_FILE_NAME} next to the manifest)`)
    .action(
      async (options: {
        api?: string;
        token?: string;
        dataDir?: string;
        manifest: string;
        dir: string;
        lock?: string;
      }) => {
        const summary = await installSdks(resolveApi(options, 'consumer'), {
          manifest: options.manifest,
          dir: options.dir,
          ...(options.lock !== undefined ? { lockFile: options.lock } : {}),
        });
        for (const i of summary.installed)
          console.log(`${i.downloaded ? 'installed' : 'up to date'}  ${i.name}@${i.version}  ${i.path}`);
        for (const w of summary.warnings) console.log(`warning: ${w}`);
        console.log(`${summary.reusedLock ? 'kept' : 'wrote'} ${summary.lockFile}`);
      },
    );

  sdk
    .command('token <id>')
    .description('Issue a bearer token for a consumer (downloads) or a provider (pushes); it is shown once')
    .option('--role <role>', 'consumer or provider (repeat or comma-separate for both)', list, [])
    .option('--groups <groups>', 'consumer groups of the access policy, comma-separated', list, [])
    .option('--sdks <names>', 'SDK names a provider may push, comma-separated (* for any)', list, [])
    .option('--expires <duration>', 'lifetime such as 90d or 12h (default: never expires)')
    .option(
      '--table <name>',
      'the SDK table on AWS (the stack output SdkTableName); default: the local mode on --data-dir',
    )
    .option('--data-dir <dir>', 'local mode data folder', DEFAULT_LOCAL_DATA_DIR)
    .action(
      async (
        id: string,
        options: {
          role: string[];
          groups: string[];
          sdks: string[];
          expires?: string;
          table?: string;
          dataDir: string;
        },
      ) => {
        const issued = await issueSdkToken(
          {
            id,
            roles: options.role as CredentialRole[],
            groups: options.groups,
            sdks: options.sdks,
            ...(options.expires !== undefined ? { expires: options.expires } : {}),
          },
          { dataDir: options.dataDir, ...(options.table !== undefined ? { table: options.table } : {}) },
        );
        console.log(issued.token);
        console.error(
          `Token for ${id}${issued.expiresAt ? `, valid until ${issued.expiresAt}` : ''}. Lockstep keeps only its hash: store it now.`,
        );
      },
    );
}
