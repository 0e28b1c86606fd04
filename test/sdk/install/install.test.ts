import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { buildIndex } from '../../../lambdas/sdk/host/package-index';
import {
  ChecksumMismatchError,
  ConsumerManifestError,
  InstallResolutionError,
  LockFileError,
} from '../../../lambdas/sdk/install/errors';
import { installPackages, verifyDownload, type Downloader } from '../../../lambdas/sdk/install/fetch';
import {
  LOCK_FILE_NAME,
  parseLockFile,
  readLockFile,
  serializeLockFile,
  writeLockFile,
} from '../../../lambdas/sdk/install/lock-file';
import { parseConsumerManifest } from '../../../lambdas/sdk/install/manifest';
import { planInstall } from '../../../lambdas/sdk/install/plan';
import { published } from '../host/fixtures';

const generatedAt = '2026-03-01T00:00:00.000Z';
const catalogue = [
  published('analytics', '6.1.0'),
  published('analytics', '7.0.2'),
  published('geo', '3.1.0', { dependencies: { analytics: '^6.0.0' } }),
  published('maps', '2.0.0', { dependencies: { geo: '^3.0.0' } }),
  published('maps', '2.1.0', { dependencies: { geo: '^3.0.0' }, deprecatedInFavorOf: 'atlas' }),
  published('social', '1.3.0', { dependencies: { analytics: '^7.0.0' } }),
  published('crash', '1.0.0'),
];
const index = buildIndex(catalogue, { generatedAt });
const contentOf = (name: string, version: string) => `${name}-${version} archive bytes`;
const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'lockstep-install-'));
  dirs.push(d);
  return d;
};

/** Serves the published bytes, optionally corrupting one file. */
const downloader = (corrupt?: string): Downloader & { calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    download: async (item) => {
      calls.push(item.file.name);
      const body = contentOf(item.name, item.version);
      return Readable.from([Buffer.from(item.file.name === corrupt ? body.replace('archive', 'ARCHIVE') : body)]);
    },
  };
};

describe('consumer manifest', () => {
  it('reads SDK ranges from YAML', () => {
    expect(parseConsumerManifest('sdks:\n  maps: "^2.0.0"\n  social: ">=1.3.0 <2.0.0"\n')).toEqual({
      sdks: { maps: '^2.0.0', social: '>=1.3.0 <2.0.0' },
    });
  });

  it('reads "~>" with CocoaPods\' meaning, as SDK metadata does', () => {
    expect(parseConsumerManifest('sdks:\n  analytics: "~> 6.0"\n')).toEqual({ sdks: { analytics: '>=6.0.0 <7.0.0' } });
    const plan = planInstall({ manifest: parseConsumerManifest('sdks:\n  analytics: "~> 6.0"\n'), index });
    expect(plan.downloads.map((d) => `${d.name}@${d.version}`)).toEqual(['analytics@6.1.0']);
  });

  it('reports every problem at once with its path', () => {
    let error: ConsumerManifestError | undefined;
    try {
      parseConsumerManifest('sdks:\n  maps: "two-ish"\n  Social: "^1.0.0"\nextra: 1\n');
    } catch (e) {
      error = e as ConsumerManifestError;
    }
    expect(error).toBeInstanceOf(ConsumerManifestError);
    expect(error!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sdks\.maps: is not a semver range/),
        expect.stringMatching(/^\(root\): unknown key extra; only "sdks" is allowed/),
        expect.stringMatching(/^sdks\.Social: is not an SDK name/),
      ]),
    );
  });
});

describe('planInstall', () => {
  it('resolves the manifest transitively, newest first, and lists every download with its checksum', () => {
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index });
    expect(plan.lock.sdks.map((s) => `${s.name} ${s.version}`)).toEqual(['analytics 6.1.0', 'geo 3.1.0', 'maps 2.1.0']);
    expect(plan.downloads.map((d) => d.file.key)).toEqual([
      'public/analytics/6.1.0/analytics-6.1.0.zip',
      'public/geo/3.1.0/geo-3.1.0.zip',
      'public/maps/2.1.0/maps-2.1.0.zip',
    ]);
    expect(plan.reusedLock).toBe(false);
    expect(plan.warnings).toEqual(['maps is deprecated in favor of atlas; plan to move to it']);
  });

  it('never installs a prerelease for a range that does not name one, and does when asked', () => {
    const withBeta = buildIndex([...catalogue, published('analytics', '7.1.0-beta.1', { tier: 'early-access' })], {
      generatedAt,
    });
    const stable = planInstall({ manifest: { sdks: { analytics: '^7.0.0' } }, index: withBeta });
    expect(stable.downloads.map((d) => `${d.name}@${d.version}`)).toEqual(['analytics@7.0.2']);
    const any = planInstall({ manifest: { sdks: { analytics: '*' } }, index: withBeta });
    expect(any.downloads.map((d) => `${d.name}@${d.version}`)).toEqual(['analytics@7.0.2']);
    const asked = planInstall({ manifest: { sdks: { analytics: '^7.1.0-beta.0' } }, index: withBeta });
    expect(asked.downloads.map((d) => `${d.name}@${d.version}`)).toEqual(['analytics@7.1.0-beta.1']);
  });

  it('explains a manifest no published versions satisfy', () => {
    expect(() => planInstall({ manifest: { sdks: { maps: '^2.0.0', social: '^1.0.0' } }, index })).toThrow(
      InstallResolutionError,
    );
    expect(() => planInstall({ manifest: { sdks: { maps: '^2.0.0', social: '^1.0.0' } }, index })).toThrow(
      /the manifest requires maps \^2\.0\.0;.*geo 3\.1\.0 requires analytics \^6\.0\.0;.*social 1\.3\.0 requires analytics \^7\.0\.0; no version of analytics satisfies both \^[67]\.0\.0 and \^[67]\.0\.0 \(available: 6\.1\.0, 7\.0\.2\)/,
    );
  });

  it('keeps an existing lock file while it satisfies the manifest, even when newer versions exist', () => {
    const older = planInstall({ manifest: { sdks: { maps: '2.0.0' } }, index }).lock;
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index, lock: older });
    expect(plan.reusedLock).toBe(true);
    expect(plan.lock.sdks).toEqual(older.sdks);
    expect(plan.lock.requirements).toEqual({ maps: '^2.0.0' });
  });

  it('keeps locked versions that still fit when it has to resolve again', () => {
    const lock = planInstall({ manifest: { sdks: { maps: '2.0.0' } }, index }).lock;
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0', crash: '^1.0.0' } }, index, lock });
    expect(plan.reusedLock).toBe(false);
    expect(plan.lock.sdks.map((s) => `${s.name} ${s.version}`)).toEqual([
      'analytics 6.1.0',
      'crash 1.0.0',
      'geo 3.1.0',
      'maps 2.0.0',
    ]);
  });

  it('re-resolves when the lock no longer satisfies the manifest or a locked version was withdrawn', () => {
    const lock = planInstall({ manifest: { sdks: { maps: '2.0.0' } }, index }).lock;
    expect(
      planInstall({ manifest: { sdks: { maps: '^2.1.0' } }, index, lock }).lock.sdks.find((s) => s.name === 'maps')!
        .version,
    ).toBe('2.1.0');
    const withdrawn = buildIndex(
      catalogue.map((p) =>
        p.metadata.name === 'maps' && p.metadata.version === '2.0.0'
          ? { ...p, metadata: { ...p.metadata, supported: false } }
          : p,
      ),
      { generatedAt },
    );
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index: withdrawn, lock });
    expect(plan.reusedLock).toBe(false);
    expect(plan.lock.sdks.find((s) => s.name === 'maps')!.version).toBe('2.1.0');
  });

  it('stops when the index lists different bytes for a locked version', () => {
    const lock = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index }).lock;
    const changed = buildIndex(
      catalogue.map((p) =>
        p.metadata.name === 'geo' ? { ...p, files: [{ ...p.files[0]!, sha256: 'f'.repeat(64) }] } : p,
      ),
      { generatedAt },
    );
    expect(() => planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index: changed, lock })).toThrow(LockFileError);
  });
});

describe('lock file', () => {
  it('writes the same bytes for the same lock and reads them back', async () => {
    const lock = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index }).lock;
    const text = serializeLockFile(lock);
    expect(serializeLockFile(parseLockFile(text))).toBe(text);
    expect(text.indexOf('"analytics"')).toBeLessThan(text.indexOf('"geo"'));
    const dir = tempDir();
    await writeLockFile(join(dir, LOCK_FILE_NAME), lock);
    expect(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8')).toBe(text);
    expect(await readLockFile(join(dir, LOCK_FILE_NAME))).toEqual(lock);
    expect(await readLockFile(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('refuses a lock file that is not one, saying how to recover', () => {
    expect(() => parseLockFile('{"lockfileVersion": 2}')).toThrow(/delete it and install again/);
  });
});

describe('downloads', () => {
  it('installs every file of the plan after verifying it, and skips files already in place', async () => {
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index });
    const dir = tempDir();
    const first = downloader();
    const installed = await installPackages(plan, { downloader: first, directory: dir });
    expect(installed.map((f) => f.downloaded)).toEqual([true, true, true]);
    expect(readFileSync(join(dir, 'maps', '2.1.0', 'maps-2.1.0.zip'), 'utf8')).toBe(contentOf('maps', '2.1.0'));
    const second = downloader();
    await installPackages(plan, { downloader: second, directory: dir });
    expect(second.calls).toEqual([]);
  });

  it('refuses a file whose checksum does not match and leaves nothing of it behind', async () => {
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index });
    const dir = tempDir();
    const install = installPackages(plan, { downloader: downloader('geo-3.1.0.zip'), directory: dir });
    await expect(install).rejects.toThrow(ChecksumMismatchError);
    const geo = plan.downloads.find((d) => d.name === 'geo')!;
    const tampered = sha256Of(Buffer.from(contentOf('geo', '3.1.0').replace('archive', 'ARCHIVE')));
    await expect(installPackages(plan, { downloader: downloader('geo-3.1.0.zip'), directory: dir })).rejects.toThrow(
      `checksum mismatch for geo-3.1.0.zip: expected ${geo.file.sha256}, got ${tampered}; nothing was installed`,
    );
    expect(existsSync(join(dir, 'geo', '3.1.0', 'geo-3.1.0.zip'))).toBe(false);
    expect(existsSync(join(dir, 'geo', '3.1.0', 'geo-3.1.0.zip.partial'))).toBe(false);
  });

  it('installs nothing when one file of the plan is tampered with: the install folder stays exactly as it was', async () => {
    const plan = planInstall({ manifest: { sdks: { maps: '^2.0.0' } }, index });
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'already here');
    // analytics and maps verify; geo, the second of three, does not.
    expect(plan.downloads.map((d) => d.name)).toEqual(['analytics', 'geo', 'maps']);
    await expect(installPackages(plan, { downloader: downloader('geo-3.1.0.zip'), directory: dir })).rejects.toThrow(
      ChecksumMismatchError,
    );
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('ends a download cut by a tampered stream without an unhandled stream error and leaves no partial file', async () => {
    const plan = planInstall({ manifest: { sdks: { crash: '^1.0.0' } }, index });
    const dir = tempDir();
    const slow: Downloader = {
      download: async () =>
        Readable.from(
          (async function* () {
            for (let i = 0; i < 50; i++) yield Buffer.alloc(64 * 1024, i);
          })(),
        ),
    };
    const unhandled: unknown[] = [];
    const onError = (error: unknown) => unhandled.push(error);
    process.on('uncaughtException', onError);
    try {
      await expect(installPackages(plan, { downloader: slow, directory: dir })).rejects.toThrow(
        /^checksum mismatch for crash-1\.0\.0\.zip: expected [0-9a-f]{64}, got more than \d+ bytes; nothing was installed$/,
      );
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(unhandled).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says that a file in the install folder was changed locally before replacing it', async () => {
    const plan = planInstall({ manifest: { sdks: { crash: '^1.0.0' } }, index });
    const dir = tempDir();
    await installPackages(plan, { downloader: downloader(), directory: dir });
    const path = join(dir, 'crash', '1.0.0', 'crash-1.0.0.zip');
    writeFileSync(path, 'edited by hand');
    const notices: string[] = [];
    const installed = await installPackages(plan, {
      downloader: downloader(),
      directory: dir,
      onLocalChange: (n) => notices.push(`${n} [file now: ${readFileSync(path, 'utf8')}]`),
    });
    expect(notices).toEqual([
      `${path} was changed locally (SHA-256 ${sha256Of(Buffer.from('edited by hand'))}, the published file has ${plan.downloads[0]!.file.sha256}); replacing it with the published file [file now: edited by hand]`,
    ]);
    expect(installed[0]).toMatchObject({ downloaded: true, replacedLocalChange: true });
    expect(readFileSync(path, 'utf8')).toBe(contentOf('crash', '1.0.0'));
  });

  it('stops reading a download that grows past the listed size', async () => {
    async function* endless() {
      for (;;) yield Buffer.alloc(1024);
    }
    await expect(
      verifyDownload(endless(), { label: 'maps 2.0.0 maps-2.0.0.zip', sha256: '0'.repeat(64), size: 4096 }),
    ).rejects.toThrow(/larger than the 4096 bytes/);
  });
});
