// Build: writes dist/version.json (commit, time, the files it was built from) and bundles the service into dist/.
// A file named FAIL_TESTS at the repository root is carried into the bundle, and the tests fail on it: commit one
// to watch a deploy fail its tests and roll back.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const root = path.join(here, '..');
const dist = path.join(root, 'dist');

function commit() {
  if (process.env.CODEBUILD_RESOLVED_SOURCE_VERSION) return process.env.CODEBUILD_RESOLVED_SOURCE_VERSION;
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
fs.copyFileSync(path.join(root, 'src', 'app.js'), path.join(dist, 'app.js'));
// The bundle is deployed on its own, away from this package.json: it says itself that it is an ES module.
fs.writeFileSync(path.join(dist, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');
const failTests = fs.existsSync(path.join(root, 'FAIL_TESTS'));
if (failTests) fs.copyFileSync(path.join(root, 'FAIL_TESTS'), path.join(dist, 'FAIL_TESTS'));
const version = {
  commit: commit(),
  builtAt: new Date().toISOString(),
  buildId: process.env.CODEBUILD_BUILD_ID || 'local',
  revision: process.env.LOCKSTEP_REVISION || null,
};
fs.writeFileSync(path.join(dist, 'version.json'), JSON.stringify(version, null, 2) + '\n');
console.log(
  `built ${version.commit.slice(0, 12)} into dist/${failTests ? ' (FAIL_TESTS marker included: tests will fail)' : ''}`,
);
