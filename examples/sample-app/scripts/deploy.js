// Deploy: writes this revision into $LOCKSTEP_DEPLOY_ROOT/<environment>/ (revision.json + app/), replacing what was
// there in one rename so a reader never sees half a deploy. A deploy carrying an older fencing token than the one
// deployed is refused: its lock lease expired and someone else deployed meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(1);
  }
  return value;
}

const deployRoot = required('LOCKSTEP_DEPLOY_ROOT');
const environment = required('LOCKSTEP_ENVIRONMENT');
const application = required('LOCKSTEP_APPLICATION');
const revision = Number(required('LOCKSTEP_REVISION'));
const fencingToken = Number(required('LOCKSTEP_FENCING_TOKEN'));
const rollback = process.env.LOCKSTEP_ROLLBACK === 'true';
const built = path.join(here, '..', 'dist');

const target = path.join(deployRoot, environment);
const current = readJson(path.join(target, 'revision.json'));
if (current && Number(current.fencingToken) > fencingToken) {
  console.error(
    `refusing to deploy: ${environment} was deployed with fencing token ${current.fencingToken}, this deploy holds ${fencingToken}`,
  );
  process.exit(1);
}

fs.mkdirSync(deployRoot, { recursive: true });
const staging = fs.mkdtempSync(path.join(deployRoot, `.${environment}-`));
fs.cpSync(built, path.join(staging, 'app'), { recursive: true });
const record = {
  application,
  environment,
  revision,
  fencingToken,
  rollback,
  commit: readJson(path.join(built, 'version.json'))?.commit ?? 'unknown',
  deployedAt: new Date().toISOString(),
  buildId: process.env.CODEBUILD_BUILD_ID || 'local',
};
fs.writeFileSync(path.join(staging, 'revision.json'), JSON.stringify(record, null, 2) + '\n');
const old = `${target}.old-${process.pid}`;
if (fs.existsSync(target)) fs.renameSync(target, old);
fs.renameSync(staging, target);
fs.rmSync(old, { recursive: true, force: true });
console.log(
  `${rollback ? 'rolled back' : 'deployed'} ${application} revision ${revision} to ${environment} (fencing token ${fencingToken})`,
);

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
