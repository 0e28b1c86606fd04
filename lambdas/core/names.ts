/**
 * Names that several parts must agree on: CodeBuild projects (CDK creates them, handlers and the state machine
 * start them, local mode emulates them) and Step Functions execution names (the idempotency key of a promotion).
 */

const MAX_EXECUTION_NAME = 80;

/** Keeps only characters every consumer accepts (Step Functions, CodeBuild, file names). */
function safe(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** CodeBuild project that builds an application's packages into a revision. */
export function buildProjectName(pipeline: string, application: string): string {
  return `lockstep-${safe(pipeline)}-build-${safe(application)}`;
}

/** CodeBuild project that deploys (or rolls back) a revision to an environment. */
export function deployProjectName(pipeline: string, environment: string): string {
  return `lockstep-${safe(pipeline)}-deploy-${safe(environment)}`;
}

/** CodeBuild project for one test step of an environment's approval workflow. */
export function testProjectName(pipeline: string, environment: string, step: string): string {
  return `lockstep-${safe(pipeline)}-test-${safe(environment)}-${safe(step)}`;
}

/**
 * Step Functions execution name for promoting `revision` of `application` along `promotionId`.
 * Deterministic, so starting the same promotion twice is refused by Step Functions itself.
 * Long names keep a hash suffix so two long ids never collapse into one name.
 */
export function executionName(promotionId: string, application: string, revision: number): string {
  const name = safe(`${promotionId}-${application}-r${revision}`);
  if (name.length <= MAX_EXECUTION_NAME) return name;
  let hash = 0x811c9dc5;
  for (const ch of name) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const suffix = `-${hash.toString(36)}-r${revision}`;
  return name.slice(0, MAX_EXECUTION_NAME - suffix.length) + suffix;
}
