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

/**
 * CodeBuild project that runs the deploy and test steps sharing one set of grants (`lambdas/core/buildspecs.ts`):
 * `lockstep-<pipeline>-steps-<account>-<hash>`, the account of the role they assume (`home` without one) and a
 * hash of `grantsKey`, so the name stays while environments join or leave the project.
 */
export function stepsProjectName(pipeline: string, account: string, grantsKey: string): string {
  return `lockstep-${safe(pipeline)}-steps-${safe(account)}-${fnv1a(grantsKey).toString(16).padStart(8, '0')}`;
}

/** 32-bit FNV-1a: a short, stable hash for names (not for security). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const ch of text) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

/**
 * Step Functions execution name for attempt `attempt` of promoting `revision` of `application` along `promotionId`.
 * Deterministic, so starting the same attempt twice is refused by Step Functions itself (duplicate events, two
 * reconcile passes at once). A failed promotion is retried as the next attempt (`lockstep retry`), which is a new
 * name: Step Functions keeps a name for 90 days, so a fixed name per revision would block it that long.
 *
 * The first attempt carries no suffix (`<promotion>-<application>-r<revision>`), so names started before attempts
 * existed still count as attempt 1; later ones end in `-a<attempt>`. Long names keep a hash suffix so two long ids
 * never collapse into one name; every name fits Step Functions' 80 characters.
 *
 * @example
 * executionName('Beta-to-Prod', 'web', 5); // 'Beta-to-Prod-web-r5'
 * executionName('Beta-to-Prod', 'web', 5, 2); // 'Beta-to-Prod-web-r5-a2'
 */
export function executionName(promotionId: string, application: string, revision: number, attempt = 1): string {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`An attempt is a whole number from 1, not ${attempt}`);
  const tail = `r${revision}${attempt > 1 ? `-a${attempt}` : ''}`;
  const name = safe(`${promotionId}-${application}-${tail}`);
  if (name.length <= MAX_EXECUTION_NAME) return name;
  const suffix = `-${fnv1a(name).toString(36)}-${tail}`;
  return name.slice(0, MAX_EXECUTION_NAME - suffix.length) + suffix;
}

/** The attempt an execution name stands for: `-a<n>` at its end, else 1 (see `executionName`). */
export function attemptOf(name: string): number {
  const match = /-r\d+-a(\d+)$/.exec(name);
  return match ? Number(match[1]) : 1;
}
