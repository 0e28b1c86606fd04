/**
 * `npm run bench promotion-cost` (issue 3): what one promotion hop costs to orchestrate on AWS, counted from a local
 * run of the three-stage shape (bench/support/three-stage-run.ts): state transitions and task invocations from the
 * local Step Functions' execution records, Lambda invocations and their duration measured around the handlers.
 * Priced at Step Functions Standard ($0.025 per 1,000 state transitions) and Lambda ($0.20 per 1M requests +
 * $0.0000166667 per GB-second at each function's configured memory), beside CodePipeline V2 running the same
 * actions ($0.002 per action execution minute, each action's minutes rounded up). Prints figures, asserts nothing.
 * Target: under $1 per 1,000 promotions of orchestration.
 */
import { HANDLERS } from '../lib/handlers';
import { threeStageRun } from './support/three-stage-run';

const SFN_PER_TRANSITION = 0.025 / 1000;
const LAMBDA_PER_REQUEST = 0.2 / 1_000_000;
const LAMBDA_PER_GB_SECOND = 0.0000166667;
const CODEPIPELINE_PER_ACTION_MINUTE = 0.002;

const avg = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
const usd = (n: number) => `$${n.toFixed(n < 0.0001 ? 7 : n < 0.01 ? 5 : 3)}`;

export default async function bench(): Promise<void> {
  const { rounds, idleReconcileMs } = await threeStageRun();
  const hops = rounds.slice(1).flatMap((r) => r.hops);
  const transitions = avg(hops.map((h) => h.execution.stateTransitions));
  const tasks = avg(hops.map((h) => h.execution.taskInvocations));
  const builds = avg(hops.map((h) => h.builds));
  const invocations = avg(hops.map((h) => h.lambdaInvocations));
  // Billed duration rounds each invocation up to 1 ms; the local handlers run on this machine, not in Lambda, so
  // this is an estimate of the right order, not a bill.
  const lambdaSeconds = avg(hops.map((h) => h.lambdaMs)) / 1000 + invocations * 0.0005;
  const memoryGb = HANDLERS['promotion-steps'].memorySize / 1024;

  const sfnCost = transitions * SFN_PER_TRANSITION;
  const lambdaCost = invocations * LAMBDA_PER_REQUEST + lambdaSeconds * memoryGb * LAMBDA_PER_GB_SECOND;
  const perHop = sfnCost + lambdaCost;
  console.log(
    `per promotion hop (mean of ${hops.length} hops with a deploy, one test step and a compliance sign-off):`,
  );
  console.log(
    `  state transitions ${transitions.toFixed(1)}, task invocations ${tasks.toFixed(1)} (Lambda ${invocations.toFixed(1)}, CodeBuild ${builds.toFixed(1)})`,
  );
  console.log(`  Lambda time ${(lambdaSeconds * 1000).toFixed(0)} ms at ${HANDLERS['promotion-steps'].memorySize} MB`);
  console.log(`  Step Functions ${usd(sfnCost)} + Lambda ${usd(lambdaCost)} = ${usd(perHop)} per hop`);
  console.log(`orchestration per 1,000 promotions: ${usd(perHop * 1000)} (target < $1.00)`);

  // CodePipeline V2 runs the same actions (deploy and test builds) and bills each action's minutes, rounded up.
  const actionMinutes = avg(hops.map((h) => h.builds)) * 1; // every no-op action bills its first minute
  const pipelineCost = actionMinutes * CODEPIPELINE_PER_ACTION_MINUTE;
  console.log(
    `CodePipeline V2 for the same hop: ${actionMinutes.toFixed(1)} action-minutes = ${usd(pipelineCost)} per hop, ${usd(pipelineCost * 1000)} per 1,000 promotions`,
  );
  console.log(
    '(both exclude the CodeBuild minutes themselves, which are the same either way; Lockstep also runs the reconcile schedule:',
  );
  const reconcileSeconds = idleReconcileMs / 1000;
  const monthly =
    43_200 * (LAMBDA_PER_REQUEST + reconcileSeconds * (HANDLERS.reconcile.memorySize / 1024) * LAMBDA_PER_GB_SECOND);
  console.log(
    ` 43,200 passes a month at ${(reconcileSeconds * 1000).toFixed(0)} ms (an idle pass measured here) and ${HANDLERS.reconcile.memorySize} MB = ${usd(monthly)} a month, whatever the number of promotions)`,
  );
}
