/**
 * `npm run bench [name...]`: runs every benchmark in `bench/` (files `bench/<name>.bench.ts` exporting a default
 * async function), or only those named. Benchmarks print figures; they never assert on time.
 */
import '../local/polyfills';

// The AWS SDK's notice that releases after January 2027 need Node 22 (see the README) is noise between figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

for (const name of benches) {
  console.log(`\n=== bench/${name} ===`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { default: () => Promise<void> };
  await mod.default();
}
