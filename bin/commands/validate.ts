/**
 * `lockstep validate [file]`: checks a pipeline definition and prints every problem at once, one per line as
 * `file:line:col path: message. Fix: ...`, or a one-paragraph summary when it is valid.
 */
import type { Command } from 'commander';
import { checkPipelineFile, DEFAULT_PIPELINE_FILE, formatProblems } from '../../lambdas/core/config/load';
import { stackLimitProblems } from '../../lambdas/core/config/limits';
import { alarmBake, parseAlarmReference, type Pipeline } from '../../lambdas/core/config/schema';
import { promotionsOf } from '../../lambdas/core/config/validate';
import { configWarnings } from '../../lambdas/core/config/warnings';
import { describeChange } from '../../lambdas/core/config/change';

/** Counts of what a pipeline defines, as printed by `validate` and its `--json` output. */
export function summarize(pipeline: Pipeline) {
  const promotions = promotionsOf(pipeline);
  const environments = pipeline.stages.flatMap((stage) => stage.environments);
  return {
    name: pipeline.pipeline.name,
    packages: pipeline.packages.length,
    applications: pipeline.applications.length,
    stages: pipeline.stages.length,
    environments: environments.length,
    promotions: promotions.length,
    manualPromotions: promotions.filter((p) => p.approval === 'manual').length,
    disabledPromotions: promotions.filter((p) => !p.enabled).length,
    environmentsWithWindows: environments.filter((e) => e.windows.length > 0).length,
    environmentsWithManualApproval: environments.filter((e) => e.approval.manual).length,
    alarmBakes: environments.flatMap((e) => {
      const bake = alarmBake(e.approval);
      return bake
        ? [
            {
              environment: e.name,
              duration: bake.duration,
              alarms: bake.alarms.map((reference) => parseAlarmReference(reference).name),
              acceptInsufficientData: bake.acceptInsufficientData,
            },
          ]
        : [];
    }),
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function summaryText(file: string, pipeline: Pipeline): string {
  const s = summarize(pipeline);
  const stageNames = pipeline.stages.map((stage) => stage.name).join(' -> ');
  const extras = [
    s.environmentsWithWindows > 0 ? `${count(s.environmentsWithWindows, 'environment')} with time windows` : '',
    s.environmentsWithManualApproval > 0
      ? `${count(s.environmentsWithManualApproval, 'environment')} with a manual approval`
      : '',
    s.alarmBakes.length > 0 ? `${count(s.alarmBakes.length, 'environment')} with an alarm-watched bake` : '',
    s.manualPromotions > 0 ? `${count(s.manualPromotions, 'manual promotion')}` : '',
    s.disabledPromotions > 0 ? `${count(s.disabledPromotions, 'disabled promotion')}` : '',
  ].filter((part) => part !== '');
  return (
    `${file} is valid: pipeline "${s.name}" has ${count(s.packages, 'package')}, ${count(s.applications, 'application')}, ` +
    `${count(s.stages, 'stage')} (${stageNames}), ${count(s.environments, 'environment')} and ${count(s.promotions, 'promotion')}` +
    (extras.length > 0 ? `; ${extras.join(', ')}.` : '.') +
    // The approval workflow's alarms, one line per environment, so a misspelt alarm name is seen before a bake is blocked.
    s.alarmBakes
      .map(
        (b) =>
          `\n  ${b.environment} bakes ${b.duration} watching ${b.alarms.join(', ')}` +
          (b.acceptInsufficientData ? ' (INSUFFICIENT_DATA accepted)' : ''),
      )
      .join('')
  );
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a pipeline definition and report every problem at once')
    .argument('[file]', 'pipeline definition (.yaml, .json, or a .ts module exporting it)', DEFAULT_PIPELINE_FILE)
    .option('--json', 'print the result as JSON for tools')
    .option('--against <old>', 'the definition deployed now: also say what changing it to [file] will do')
    .action(async (file: string, options: { json?: boolean; against?: string }) => {
      const checked = await checkPipelineFile(file);
      // A definition too large for one CloudFormation stack is refused here as `cdk synth` refuses it.
      const tooLarge = checked.pipeline ? stackLimitProblems(checked.pipeline) : [];
      const result = tooLarge.length > 0 ? { problems: tooLarge } : checked;
      const old = options.against !== undefined ? await checkPipelineFile(options.against) : undefined;
      if (old && !old.pipeline) {
        console.error(formatProblems(old.problems, options.against));
        console.error(
          `\n${options.against} (given with --against) is not a valid definition, so the change cannot be described.`,
        );
        process.exitCode = 1;
        return;
      }
      const changes = old?.pipeline && result.pipeline ? describeChange(old.pipeline, result.pipeline) : undefined;
      if (options.json) {
        const body = result.pipeline
          ? {
              valid: true,
              file,
              summary: summarize(result.pipeline),
              problems: [],
              warnings: configWarnings(result.pipeline),
              ...(changes ? { changes } : {}),
            }
          : { valid: false, file, problems: result.problems };
        console.log(JSON.stringify(body, null, 2));
      } else if (result.pipeline) {
        console.log(summaryText(file, result.pipeline));
        for (const warning of configWarnings(result.pipeline))
          console.log(`warning: ${warning.path}: ${warning.message}. Fix: ${warning.fix}`);
        if (changes) {
          console.log(
            changes.length === 0
              ? `\nAgainst ${options.against}: nothing changes at run time.`
              : `\nAgainst ${options.against}:`,
          );
          for (const c of changes) console.log(`  ${c.kind} ${c.subject}: ${c.message}`);
        }
      } else {
        console.error(formatProblems(result.problems, file));
        console.error(`\n${count(result.problems.length, 'problem')} in ${file}.`);
      }
      if (!result.pipeline) process.exitCode = 1;
    });
}
