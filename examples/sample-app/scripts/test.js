// Tests what is deployed at $LOCKSTEP_DEPLOY_ROOT/<environment>/: the revision this test run is about is the one
// deployed, and the deployed service answers /health with the version it was built as.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${message}`);
  if (!ok) failures.push(message);
};

const deployRoot = process.env.LOCKSTEP_DEPLOY_ROOT;
const environment = process.env.LOCKSTEP_ENVIRONMENT;
const expected = Number(process.env.LOCKSTEP_REVISION);
if (!deployRoot || !environment) {
  console.error('LOCKSTEP_DEPLOY_ROOT and LOCKSTEP_ENVIRONMENT must be set');
  process.exit(1);
}
const target = path.join(deployRoot, environment);
let record;
try {
  record = JSON.parse(fs.readFileSync(path.join(target, 'revision.json'), 'utf8'));
} catch {
  console.error(`nothing is deployed at ${target}`);
  process.exit(1);
}

check(record.revision === expected, `revision ${expected} is deployed at ${environment} (found ${record.revision})`);
if (process.env.LOCKSTEP_APPLICATION) {
  check(record.application === process.env.LOCKSTEP_APPLICATION, `application is ${process.env.LOCKSTEP_APPLICATION}`);
}
const app = await import(pathToFileURL(path.join(target, 'app', 'app.js')).href);
const health = app.handle('/health');
check(health.statusCode === 200 && health.body.status === 'ok', '/health answers ok');
check(
  health.body.version.commit === record.commit,
  `/health reports the deployed commit ${String(record.commit).slice(0, 12)}`,
);
check(!fs.existsSync(path.join(target, 'app', 'FAIL_TESTS')), 'the build carries no FAIL_TESTS marker');

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
