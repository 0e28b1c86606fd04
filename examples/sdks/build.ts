/**
 * Builds the example SDKs into pushable folders: each example's `src/*.c` is compiled with `cc` (or `$CC`) into
 * `lib/lib<name>.a`, next to its headers, metadata and any `lockstep-checks.sh`; `src/` itself stays behind.
 *
 * The examples declare `x86_64`. On a machine of another architecture the copy's metadata declares that machine's
 * architecture instead, so that the tester's architecture check and sample app mean the same thing everywhere.
 * A C compiler is required: the point of the examples is real binaries that the tester inspects and links.
 *
 * @example
 * const dirs = await buildExampleSdks('/tmp/sdks');   // { 'analytics@6.1.0': '/tmp/sdks/analytics-6.1.0', ... }
 * // then: lockstep sdk push /tmp/sdks/analytics-6.1.0
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import semver from 'semver';
import { METADATA_FILE_NAMES, parseSdkMetadata } from '../../lambdas/sdk/metadata';

const run = promisify(execFile);

export const EXAMPLE_SDKS_DIR = fileURLToPath(new URL('.', import.meta.url));

interface Example {
  readonly folder: string;
  readonly name: string;
  readonly version: string;
  readonly metadataFile: string;
  readonly dependencies: Readonly<Record<string, string>>;
}

async function examples(): Promise<Example[]> {
  const out: Example[] = [];
  for (const entry of await readdir(EXAMPLE_SDKS_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const files = await readdir(join(EXAMPLE_SDKS_DIR, entry.name));
    const metadataFile = Object.keys(METADATA_FILE_NAMES).find((f) => files.includes(f));
    if (metadataFile === undefined) continue;
    const metadata = parseSdkMetadata(await readFile(join(EXAMPLE_SDKS_DIR, entry.name, metadataFile)), { fileName: metadataFile, sdkExists: () => true });
    out.push({ folder: entry.name, name: metadata.name, version: metadata.version, metadataFile, dependencies: metadata.dependencies });
  }
  return out.sort((a, b) => a.folder.localeCompare(b.folder));
}

/** Builds every example into `outDir/<folder>`; returns `name@version` -> folder. */
export async function buildExampleSdks(outDir: string, options: { cc?: string } = {}): Promise<Record<string, string>> {
  const cc = options.cc ?? process.env.CC ?? 'cc';
  const all = await examples();
  const hostArch = arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'arm64' : arch();
  const built: Record<string, string> = {};
  for (const example of all) {
    const source = join(EXAMPLE_SDKS_DIR, example.folder);
    const target = join(outDir, example.folder);
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    await cp(source, target, { recursive: true, filter: (path) => !path.startsWith(join(source, 'src')) });
    if (hostArch !== 'x86_64') {
      const path = join(target, example.metadataFile);
      await writeFile(path, (await readFile(path, 'utf8')).replaceAll('x86_64', hostArch));
    }
    // Dependencies' headers: the example folder of each dependency whose version satisfies the range.
    const includes = [join(source, 'include')];
    for (const [dep, range] of Object.entries(example.dependencies)) {
      const match = all.filter((e) => e.name === dep && semver.satisfies(e.version, range)).sort((a, b) => semver.rcompare(a.version, b.version))[0];
      if (match === undefined) throw new Error(`Example ${example.folder} needs ${dep} ${range}, which no example provides`);
      includes.push(join(EXAMPLE_SDKS_DIR, match.folder, 'include'));
    }
    const objects: string[] = [];
    const work = join(target, '.build');
    await mkdir(work, { recursive: true });
    for (const file of (await readdir(join(source, 'src'))).filter((f) => f.endsWith('.c'))) {
      const object = join(work, file.replace(/\.c$/, '.o'));
      await run(cc, ['-std=c11', '-O2', '-fPIC', '-c', join(source, 'src', file), '-o', object, ...includes.map((i) => `-I${i}`)]);
      objects.push(object);
    }
    await mkdir(join(target, 'lib'), { recursive: true });
    await run('ar', ['rcs', join(target, 'lib', `lib${example.name}.a`), ...objects]);
    await rm(work, { recursive: true, force: true });
    built[`${example.name}@${example.version}`] = target;
  }
  return built;
}
