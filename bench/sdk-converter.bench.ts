/**
 * Converter throughput and peak memory on a large archive, against `unzip` + `zip` on the same archive.
 *
 * `npx tsx bench/run.ts sdk-converter`; `LOCKSTEP_BENCH_CONVERTER_MB=64` shrinks the archive for a quick run
 * (default 1024 MB of content). The input is generated once, streamed, under a temp folder: an xcframework of
 * random binaries, thousands of small headers, and large resources, half compressible text and half random bytes.
 * The converter runs in a child process so that its `maxRSS` is its own; the baseline runs under `/usr/bin/time -v`.
 * Target: converter peak memory under 256 MB. Everything is deleted afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import yazl from 'yazl';

const MB = 1024 * 1024;
const PEAK_TARGET_MB = 256;
const here = fileURLToPath(import.meta.url);

interface ChildReport {
  readonly seconds: number;
  readonly maxRssBytes: number;
  readonly bytesRead: number;
  readonly outputBytes: number;
  readonly files: number;
}

interface LazyZipFile {
  addReadStreamLazy(
    path: string,
    options: object,
    getStream: (callback: (error: Error | null, stream: Readable) => void) => void,
  ): void;
}

const WORDS =
  'map tile route vector offline render layer style zoom camera marker region cache fetch decode draw'.split(' ');

/** A stream of `size` bytes, text-like (compresses about 4:1) or random, produced chunk by chunk. */
function generated(size: number, compressible: boolean): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, 256 * 1024);
      left -= n;
      if (!compressible) return void this.push(randomBytes(n));
      const noise = randomBytes(n);
      let text = '';
      for (let i = 0; text.length < n; i++)
        text += `${WORDS[noise[i % n]! % WORDS.length]}${noise[(i * 7) % n]! % 100} `;
      this.push(Buffer.from(text.slice(0, n)));
    },
  });
}

async function generateInput(path: string, contentBytes: number): Promise<void> {
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(path));
  const options = (size: number) => ({ size, compressionLevel: 1 }) as Partial<yazl.ReadStreamOptions>;
  let budget = contentBytes;
  const add = (name: string, size: number, compressible: boolean) => {
    const n = Math.min(size, budget);
    if (n <= 0) return;
    budget -= n;
    // addReadStreamLazy (yazl 3, not in @types/yazl 2.x): each stream is created only when yazl reaches its entry.
    (zip as unknown as LazyZipFile).addReadStreamLazy(name, options(n), (cb) => cb(null, generated(n, compressible)));
  };
  const slices = ['ios-arm64', 'ios-arm64_x86_64-simulator', 'macos-arm64_x86_64'];
  for (const slice of slices)
    add(`AcmeMaps/Maps.xcframework/${slice}/Maps.framework/Maps`, Math.floor(contentBytes * 0.05), false);
  for (let i = 0; i < 2000; i++)
    add(`AcmeMaps/Maps.xcframework/ios-arm64/Maps.framework/Headers/Maps${i}.h`, 4096, true);
  add('AcmeMaps/LICENSE', 11_000, true);
  for (let i = 0; budget > 0; i++)
    add(`AcmeMaps/resources/tiles-${String(i).padStart(4, '0')}.bin`, 32 * MB, i % 2 === 0);
  zip.end();
  await written;
}

/** Child process entry: converts and reports its own time and peak memory. */
async function child(input: string, output: string): Promise<void> {
  const { LocalFileSink, convertSdkPackage } = await import('../lambdas/sdk/converter');
  const metadata = {
    name: 'acme-maps',
    publicName: 'Acme Maps',
    version: '6.2.0',
    summary: 'Vector maps for iOS.',
    description: 'Vector maps, offline tiles and routing for iOS apps.',
    homepage: 'https://maps.example.com/sdk',
    authors: ['Acme Inc.'],
    contact: 'maps-team@example.com',
    license: 'Apache-2.0',
    dependencies: { analytics: '^6.0.0' },
    platform: { name: 'ios', minimumVersion: '15.0', architectures: ['arm64', 'x86_64'] },
    deprecated: false,
    tier: 'public' as const,
    supported: true,
  };
  const started = performance.now();
  const result = await convertSdkPackage({ metadata, source: { path: input }, sink: new LocalFileSink(output) });
  const report: ChildReport = {
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    bytesRead: result.bytesRead,
    outputBytes: result.size,
    files: result.manifest.files.length,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(input: string, output: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', here, '--child', input, output], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`converter child exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildReport);
    });
  });
}

interface Measured {
  readonly seconds: number;
  readonly maxRssBytes: number | undefined;
}

/** Runs a command, under `/usr/bin/time -v` when present for its peak RSS. */
function measure(command: string, args: readonly string[], cwd: string): Measured {
  const timed = existsSync('/usr/bin/time');
  const started = performance.now();
  const run = timed
    ? spawnSync('/usr/bin/time', ['-v', command, ...args], { cwd, encoding: 'utf8' })
    : spawnSync(command, args, { cwd, encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${command} failed (${run.status}): ${run.stderr.slice(-500)}`);
  const kb = timed ? /Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1] : undefined;
  return { seconds, maxRssBytes: kb === undefined ? undefined : Number(kb) * 1024 };
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);

export default async function benchSdkConverter(): Promise<void> {
  const contentMb = Number(process.env.LOCKSTEP_BENCH_CONVERTER_MB ?? 1024);
  const work = mkdtempSync(join(tmpdir(), 'lockstep-bench-converter-'));
  try {
    const input = join(work, 'input.zip');
    let started = performance.now();
    await generateInput(input, contentMb * MB);
    const inputBytes = statSync(input).size;
    console.log(
      `input: ${contentMb} MB of content, archive ${mb(inputBytes)} MB (generated in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );

    const converted = await runChild(input, join(work, 'converted.zip'));
    const rate = converted.bytesRead / MB / converted.seconds;
    console.log(
      `converter: ${converted.seconds.toFixed(1)} s, ${rate.toFixed(1)} MB/s of content (${(inputBytes / MB / converted.seconds).toFixed(1)} MB/s of archive), ` +
        `peak RSS ${mb(converted.maxRssBytes)} MB, ${converted.files} files, output ${mb(converted.outputBytes)} MB`,
    );
    console.log(
      `target: peak memory under ${PEAK_TARGET_MB} MB -> ${converted.maxRssBytes < PEAK_TARGET_MB * MB ? 'met' : 'NOT met'}`,
    );
    rmSync(join(work, 'converted.zip'), { force: true });

    if (!has('unzip') || !has('zip')) {
      console.log('baseline unzip + zip: unavailable (install it with `apt-get install unzip zip`)');
      return;
    }
    const extracted = join(work, 'extracted');
    mkdirSync(extracted);
    started = performance.now();
    const unzip = measure('unzip', ['-q', input, '-d', extracted], work);
    const zip = measure('zip', ['-q', '-r', join(work, 'baseline.zip'), '.'], extracted);
    const baselineSeconds = unzip.seconds + zip.seconds;
    const baselineRss =
      unzip.maxRssBytes !== undefined && zip.maxRssBytes !== undefined
        ? Math.max(unzip.maxRssBytes, zip.maxRssBytes)
        : undefined;
    console.log(
      `baseline unzip + zip: ${baselineSeconds.toFixed(1)} s (unzip ${unzip.seconds.toFixed(1)} s, zip ${zip.seconds.toFixed(1)} s), ` +
        `${(converted.bytesRead / MB / baselineSeconds).toFixed(1)} MB/s of content, peak RSS ${baselineRss === undefined ? 'unknown (no /usr/bin/time)' : `${mb(baselineRss)} MB`}`,
    );
    console.log(
      `ratios (converter / baseline): time ${(converted.seconds / baselineSeconds).toFixed(2)}x` +
        (baselineRss === undefined ? '' : `, peak memory ${(converted.maxRssBytes / baselineRss).toFixed(1)}x`) +
        ' (the converter also hashes every file, builds the xcframework zip and writes the manifest)',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!);
}
