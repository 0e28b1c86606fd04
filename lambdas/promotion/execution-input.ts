/**
 * The input of one promotion execution (`statemachines/promotion.asl.json`): one revision of one application to
 * one environment. Reconcile builds it with `executionInput()`; the state machine reads it by JSONPath, so a field
 * renamed here must be renamed there (the ASL scenario tests run the machine on inputs built by this module).
 */
import { z } from 'zod';
import {
  alarmBake,
  bakeDuration,
  durationMs,
  lockLeaseMs,
  parseAlarmReference,
  permissionsApprovers,
  type EnvironmentDefinition,
  type Pipeline,
} from '../core/config/schema';
import type { Revision } from '../core/model';
import { securityDiffKey, stepProjectName } from '../core/buildspecs';
import { parseS3Uri } from '../ports/artifacts';

export const executionInputSchema = z.strictObject({
  pipeline: z.string().min(1),
  /** Promotion id (`promotionId()`). */
  promotion: z.string().min(1),
  /** The execution's name (`executionName()`): the lock owner and the approval binding. */
  execution: z.string().min(1),
  application: z.string().min(1),
  environment: z.string().min(1),
  revision: z.strictObject({
    number: z.number().int().positive(),
    /** `s3://bucket/key` of the revision artifact. */
    artifact: z.string().min(1),
    /** The same as CodeBuild's `sourceLocationOverride` wants it: `bucket/key`. */
    sourceLocation: z.string().min(1),
  }),
  projects: z.strictObject({
    /** The steps project that runs the environment's deploy (`stepProjectName`). */
    deploy: z.string().min(1),
  }),
  /** Lease of the environment lock, long enough for the deploy and the whole approval workflow. */
  lockLeaseMs: z.number().int().positive(),
  approval: z.strictObject({
    /** Test steps, run in parallel by a Map state; empty when the environment has none. */
    tests: z.array(z.strictObject({ name: z.string().min(1), project: z.string().min(1) })),
    /** Compliance policy name, or null for none. */
    compliancePolicy: z.string().min(1).nullable(),
    /** Manual approval, or null for none. */
    manual: z
      .strictObject({
        approvers: z.array(z.string().min(1)).min(1),
        /** How many distinct approvers must approve. */
        required: z.number().int().positive(),
        /** The Task's `TimeoutSecondsPath`: how long the request stays open. */
        timeoutSeconds: z.number().int().positive(),
      })
      .nullable(),
    /** Bake time after the other steps passed; 0 for none. */
    bakeSeconds: z.number().int().nonnegative(),
    /**
     * The CloudWatch alarms the bake watches (names, ARNs resolved to their names), or null for a plain Wait.
     * Executions started before alarm bakes existed have no such field and run their own definition's plain Wait.
     */
    bakeAlarms: z
      .strictObject({
        alarms: z.array(z.string().min(1)).min(1),
        acceptInsufficientData: z.boolean(),
      })
      .nullable()
      .default(null),
  }),
  /**
   * The permission-broadening gate of a `deploy.cdk` environment: before the deploy, a security-diff build in the
   * deploy's project writes its verdict to `diffUri`, and a broadening waits for `approvers` (one of them, never an
   * author of the revision) for at most `timeoutSeconds`. Null for other environments and on recovery executions,
   * which redeploy a revision already approved there.
   */
  permissionsGate: z
    .strictObject({
      /** `s3://<artifacts bucket>/revisions/<application>/<number>/security-diff/<environment>.json`. */
      diffUri: z.string().min(1),
      approvers: z.array(z.string().min(1)).min(1),
      required: z.number().int().positive(),
      timeoutSeconds: z.number().int().positive(),
    })
    .nullable()
    .default(null),
  /**
   * Set on a recovery execution, which redeploys `revision` (already approved at the environment) over a revision
   * that a promotion execution left there unapproved when it ended outside its own Catch (stopped, timed out,
   * States.Runtime). It runs the gates and the lock like any promotion, then records the rollback instead of running
   * the approval workflow again. Null on a promotion.
   */
  recovery: z
    .strictObject({
      /** The unapproved revision being replaced. */
      failedRevision: z.number().int().positive(),
      /** Why: e.g. "execution alpha-to-beta-app-r7 ended ABORTED while it held the lock". */
      reason: z.string().min(1),
      /** Set when an operator asked for the rollback (`lockstep rollback`, the console): who. */
      requestedBy: z.string().min(1).optional(),
    })
    .nullable()
    .default(null),
  /**
   * Set on an operator's rollback (`rollbackEnvironment` in `operator-actions.ts`): the gates then ignore the
   * pipeline, automation and promotion switches (they govern automation, and this is an operator's own action),
   * and the deploy windows too when the operator overrode them (recorded in the timeline). Null otherwise.
   */
  operator: z
    .strictObject({
      user: z.string().min(1),
      via: z.enum(['cli', 'console']),
      overrideLockAndWindows: z.boolean(),
    })
    .nullable()
    .default(null),
});

export type ExecutionInput = z.infer<typeof executionInputSchema>;

/** Finds an environment's definition in the pipeline. */
export function environmentDefinition(pipeline: Pipeline, name: string): EnvironmentDefinition | undefined {
  for (const stage of pipeline.stages) for (const env of stage.environments) if (env.name === name) return env;
  return undefined;
}

/**
 * Builds the input of the execution that promotes `revision` to `environment` along `promotion`.
 *
 * @example
 * const input = executionInput(pipeline, { promotion: 'web-to-Alpha', execution: 'web-to-Alpha-web-r3', environment: 'Alpha', revision });
 */
export function executionInput(
  pipeline: Pipeline,
  target: {
    promotion: string;
    execution: string;
    environment: string;
    revision: Revision;
    recovery?: ExecutionInput['recovery'];
    operator?: ExecutionInput['operator'];
  },
): ExecutionInput {
  const env = environmentDefinition(pipeline, target.environment);
  if (!env) throw new RangeError(`Environment ${target.environment} is not in pipeline ${pipeline.pipeline.name}`);
  const { bucket, key } = parseS3Uri(target.revision.artifact);
  const manual = env.approval.manual;
  const manualMs = manual ? durationMs(manual.timeout) : 0;
  const bakeTime = bakeDuration(env.approval);
  const bakeMs = bakeTime ? durationMs(bakeTime) : 0;
  const bake = alarmBake(env.approval);
  return executionInputSchema.parse({
    pipeline: pipeline.pipeline.name,
    promotion: target.promotion,
    execution: target.execution,
    application: target.revision.application,
    environment: env.name,
    revision: {
      number: target.revision.number,
      artifact: target.revision.artifact,
      sourceLocation: `${bucket}/${key}`,
    },
    projects: { deploy: stepProjectName(pipeline, env.name, 'deploy') },
    // `lockLease` is the whole hold, approval wait included (validation refuses one shorter than that wait).
    lockLeaseMs: lockLeaseMs(env),
    approval: {
      tests: env.approval.tests.map((step) => ({
        name: step.name,
        project: stepProjectName(pipeline, env.name, { test: step.name }),
      })),
      compliancePolicy: env.approval.compliance?.policy ?? null,
      manual: manual
        ? {
            approvers: manual.approvers,
            required: manual.required,
            timeoutSeconds: Math.max(1, Math.round(manualMs / 1000)),
          }
        : null,
      bakeSeconds: Math.round(bakeMs / 1000),
      bakeAlarms:
        bake && bakeMs > 0
          ? {
              alarms: bake.alarms.map((reference) => parseAlarmReference(reference).name),
              acceptInsufficientData: bake.acceptInsufficientData,
            }
          : null,
    },
    permissionsGate:
      env.deploy.cdk && !target.recovery
        ? {
            diffUri: `s3://${bucket}/${securityDiffKey(target.revision.application, target.revision.number, env.name)}`,
            approvers: permissionsApprovers(env),
            // One confirmation, as CDK Pipelines' confirmPermissionsBroadening asks for; the no-self-approval rule
            // of manual approvals applies to it all the same.
            required: 1,
            timeoutSeconds: Math.max(1, Math.round(durationMs(env.deploy.cdk.timeout) / 1000)),
          }
        : null,
    recovery: target.recovery ?? null,
    operator: target.operator ?? null,
  });
}

/** Where a revision's artifact lives (ARCHITECTURE.md: `revisions/<application>/<number>/artifact.zip`). */
export function revisionArtifactUri(bucket: string, application: string, number: number): string {
  return `s3://${bucket}/revisions/${application}/${number}/artifact.zip`;
}

/** Where a build writes its artifact before it has a revision number. */
export function buildArtifactUri(bucket: string, application: string, requestId: string): string {
  return `s3://${bucket}/builds/${application}/${requestId}/artifact.zip`;
}
