/**
 * Cross-reference rules over a schema-valid pipeline definition: names that refer to nothing, names used twice,
 * promotion graphs that cannot deliver (two incoming edges, cycles, unreachable environments), windows that never
 * open, approvals nobody can give. Pure functions over plain data; each rule returns every problem it sees, with
 * the path, what is wrong, and the fix.
 *
 * Also holds the two views of the promotion graph other parts need: `promotionsOf()` (edges with their ids) and
 * `applicationsAt()` (which applications reach each environment).
 */
import { IANAZone } from 'luxon';
import { formatPath, type ConfigProblem } from './problems';
import {
  alarmBake,
  approvalWaitMs,
  bakeDuration,
  durationMs,
  parseAlarmReference,
  promotionId,
  type EnvironmentDefinition,
  type Pipeline,
  type PromotionDefinition,
  permissionsApprovers,
} from './schema';
import { closest } from './suggest';

/** A promotion edge with its stable id (`promotionId()`) and its index in `promotions`. */
export type IdentifiedPromotion = PromotionDefinition & { readonly id: string; readonly index: number };

/**
 * The pipeline's promotions with their ids, in definition order.
 *
 * @example
 * promotionsOf(pipeline).map((p) => p.id); // ['web-to-alpha', 'alpha-to-beta', ...]
 */
export function promotionsOf(pipeline: Pipeline): IdentifiedPromotion[] {
  return pipeline.promotions.map((promotion, index) => ({ ...promotion, id: promotionId(promotion), index }));
}

/** The application names a promotion's source names directly (`from: { application: ... }`), else `[]`. */
export function sourceApplications(promotion: Pick<PromotionDefinition, 'from'>): string[] {
  return 'application' in promotion.from ? ([] as string[]).concat(promotion.from.application) : [];
}

/**
 * Which applications reach each environment. A promotion from applications carries those applications; a
 * promotion from an environment carries every application that reaches that environment, transitively. Every
 * environment of the pipeline is a key (with `[]` when nothing reaches it); applications are listed in definition
 * order, and names that are not defined applications are left out.
 *
 * @example
 * applicationsAt(pipeline).get('prod-eu'); // ['web', 'api']
 */
export function applicationsAt(pipeline: Pipeline): Map<string, string[]> {
  const order = pipeline.applications.map((application) => application.name);
  const reached = new Map<string, Set<string>>();
  for (const stage of pipeline.stages) {
    for (const environment of stage.environments) reached.set(environment.name, new Set());
  }
  // Fixpoint: at most one pass per environment is needed, the loop stops as soon as nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (const promotion of pipeline.promotions) {
      const destination = reached.get(promotion.to);
      if (!destination) continue;
      const carried =
        'environment' in promotion.from
          ? [...(reached.get(promotion.from.environment) ?? [])]
          : sourceApplications(promotion);
      for (const application of carried) {
        if (!order.includes(application) || destination.has(application)) continue;
        destination.add(application);
        changed = true;
      }
    }
  }
  return new Map(
    [...reached].map(([environment, applications]) => [environment, order.filter((a) => applications.has(a))]),
  );
}

/** Options for `validatePipeline`. */
export interface ValidateOptions {
  /**
   * Names defined in the source whose definitions failed the schema check and were left out: references to them
   * are not reported as unknown, since the schema problem already explains them. @default none
   */
  readonly tolerate?: ReadonlySet<string>;
}

/** A rule: one concern, pure, every problem it sees. */
export type PipelineRule = (context: RuleContext) => ConfigProblem[];

interface EnvironmentEntry {
  readonly definition: EnvironmentDefinition;
  readonly stageIndex: number;
  readonly path: string;
}

/** What the rules share: the pipeline and lookups built once. */
export interface RuleContext {
  readonly pipeline: Pipeline;
  readonly packages: ReadonlyMap<string, number>;
  readonly applications: ReadonlyMap<string, number>;
  /** First definition of each environment name. */
  readonly environments: ReadonlyMap<string, EnvironmentEntry>;
  /** Every environment in definition order (duplicates included). */
  readonly allEnvironments: readonly EnvironmentEntry[];
  readonly tolerate: ReadonlySet<string>;
}

function firstIndex(names: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  names.forEach((name, index) => {
    if (!map.has(name)) map.set(name, index);
  });
  return map;
}

function context(pipeline: Pipeline, options: ValidateOptions): RuleContext {
  const allEnvironments: EnvironmentEntry[] = [];
  pipeline.stages.forEach((stage, stageIndex) =>
    stage.environments.forEach((definition, environmentIndex) =>
      allEnvironments.push({
        definition,
        stageIndex,
        path: formatPath(['stages', stageIndex, 'environments', environmentIndex]),
      }),
    ),
  );
  const environments = new Map<string, EnvironmentEntry>();
  for (const entry of allEnvironments) {
    if (!environments.has(entry.definition.name)) environments.set(entry.definition.name, entry);
  }
  return {
    pipeline,
    packages: firstIndex(pipeline.packages.map((p) => p.name)),
    applications: firstIndex(pipeline.applications.map((a) => a.name)),
    environments,
    allEnvironments,
    tolerate: options.tolerate ?? new Set(),
  };
}

/** Fix text for a reference to an undefined name: a spelling suggestion, else what exists. */
function referenceFix(name: string, kind: string, section: string, defined: Iterable<string>): string {
  const names = [...defined];
  const suggestion = closest(name, names);
  if (suggestion !== undefined)
    return `did you mean "${suggestion}"? Otherwise define ${kind} "${name}" under ${section}`;
  const known = names.length === 0 ? `no ${kind}s are defined yet` : `defined ${kind}s: ${names.join(', ')}`;
  return `define ${kind} "${name}" under ${section}, or refer to an existing one (${known})`;
}

/** Names must be unique per kind; environment names across all stages, since promotions refer to them by name. */
export const duplicateNames: PipelineRule = ({ pipeline, allEnvironments }) => {
  const problems: ConfigProblem[] = [];
  const check = (kind: string, entries: Array<{ name: string; path: string }>, scope: string) => {
    const seen = new Map<string, string>();
    for (const { name, path } of entries) {
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, path);
        continue;
      }
      problems.push({
        rule: 'duplicate-name',
        path: `${path}.name`,
        message: `${kind} name "${name}" is already used by ${first}`,
        fix: `rename one of them: ${kind} names must be unique ${scope}`,
      });
    }
  };
  check(
    'package',
    pipeline.packages.map((p, i) => ({ name: p.name, path: `packages[${i}]` })),
    'among packages',
  );
  check(
    'application',
    pipeline.applications.map((a, i) => ({ name: a.name, path: `applications[${i}]` })),
    'among applications',
  );
  check(
    'stage',
    pipeline.stages.map((s, i) => ({ name: s.name, path: `stages[${i}]` })),
    'among stages',
  );
  check(
    'environment',
    allEnvironments.map((e) => ({ name: e.definition.name, path: e.path })),
    'across all stages, because promotions refer to environments by name',
  );
  for (const entry of allEnvironments) {
    const steps = entry.definition.approval.tests;
    check(
      'test step',
      steps.map((step, i) => ({ name: step.name, path: `${entry.path}.approval.tests[${i}]` })),
      `within an environment's approval workflow (each becomes its own CodeBuild project)`,
    );
  }
  return problems;
};

/** Every package an application lists must be defined, and listed once. */
export const applicationPackages: PipelineRule = ({ pipeline, packages, tolerate }) => {
  const problems: ConfigProblem[] = [];
  pipeline.applications.forEach((application, a) => {
    const seen = new Set<string>();
    application.packages.forEach((name, p) => {
      const path = `applications[${a}].packages[${p}]`;
      if (seen.has(name)) {
        problems.push({
          rule: 'duplicate-name',
          path,
          message: `application "${application.name}" lists package "${name}" twice`,
          fix: 'remove the repeated entry',
        });
      }
      seen.add(name);
      if (!packages.has(name) && !tolerate.has(name)) {
        problems.push({
          rule: 'unknown-reference',
          path,
          message: `application "${application.name}" lists package "${name}", which is not defined`,
          fix: referenceFix(name, 'package', 'packages', packages.keys()),
        });
      }
    });
  });
  return problems;
};

/** A promotion's source applications, source environment and destination must exist. */
export const promotionReferences: PipelineRule = ({ pipeline, applications, environments, tolerate }) => {
  const problems: ConfigProblem[] = [];
  const environmentNames = () => environments.keys();
  pipeline.promotions.forEach((promotion, i) => {
    if ('application' in promotion.from) {
      const list = Array.isArray(promotion.from.application);
      sourceApplications(promotion).forEach((name, k) => {
        if (applications.has(name) || tolerate.has(name)) return;
        problems.push({
          rule: 'unknown-reference',
          path: `promotions[${i}].from.application${list ? `[${k}]` : ''}`,
          message: `promotion ${promotionId(promotion)} starts from application "${name}", which is not defined`,
          fix: referenceFix(name, 'application', 'applications', applications.keys()),
        });
      });
    } else if (!environments.has(promotion.from.environment) && !tolerate.has(promotion.from.environment)) {
      const name = promotion.from.environment;
      problems.push({
        rule: 'unknown-reference',
        path: `promotions[${i}].from.environment`,
        message: `promotion ${promotionId(promotion)} starts from environment "${name}", which is not defined in any stage`,
        fix: referenceFix(name, 'environment', "a stage's environments", environmentNames()),
      });
    }
    if (!environments.has(promotion.to) && !tolerate.has(promotion.to)) {
      problems.push({
        rule: 'unknown-reference',
        path: `promotions[${i}].to`,
        message: `promotion ${promotionId(promotion)} goes to environment "${promotion.to}", which is not defined in any stage`,
        fix: referenceFix(promotion.to, 'environment', "a stage's environments", environmentNames()),
      });
    }
  });
  return problems;
};

/** A promotion from an environment to itself would redeploy what is already there. */
export const selfPromotion: PipelineRule = ({ pipeline }) =>
  pipeline.promotions.flatMap((promotion, i) =>
    'environment' in promotion.from && promotion.from.environment === promotion.to
      ? [
          {
            rule: 'self-promotion',
            path: `promotions[${i}]`,
            message: `promotion goes from environment "${promotion.to}" to itself`,
            fix: 'point "to" at the next environment, or remove this promotion',
          },
        ]
      : [],
  );

/** An environment is the destination of at most one promotion: two sources would fight over what runs there. */
export const singleIncomingPromotion: PipelineRule = ({ pipeline }) => {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, number>();
  pipeline.promotions.forEach((promotion, i) => {
    const earlier = first.get(promotion.to);
    if (earlier === undefined) {
      first.set(promotion.to, i);
      return;
    }
    const other = pipeline.promotions[earlier]!;
    problems.push({
      rule: 'duplicate-destination',
      path: `promotions[${i}].to`,
      message: `environment "${promotion.to}" is already the destination of promotions[${earlier}] (${promotionId(other)}); an environment can have only one incoming promotion`,
      fix: 'keep one of the two; to bring several applications to one environment use a single promotion from { application: [a, b] }, or from an environment they all reach',
    });
  });
  return problems;
};

/** Promotions between environments must not loop: a revision has to come from an application, not from itself. */
export const promotionCycles: PipelineRule = ({ pipeline, environments }) => {
  const outgoing = new Map<string, Array<{ to: string; index: number }>>();
  pipeline.promotions.forEach((promotion, index) => {
    if (!('environment' in promotion.from)) return;
    const from = promotion.from.environment;
    // Self-loops and unknown endpoints have their own rules.
    if (from === promotion.to || !environments.has(from) || !environments.has(promotion.to)) return;
    outgoing.set(from, [...(outgoing.get(from) ?? []), { to: promotion.to, index }]);
  });
  const problems: ConfigProblem[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const edge of outgoing.get(node) ?? []) {
      const seen = state.get(edge.to);
      if (seen === 'open') {
        const cycle = [...stack.slice(stack.indexOf(edge.to)), edge.to];
        problems.push({
          rule: 'promotion-cycle',
          path: `promotions[${edge.index}]`,
          message: `promotions form a cycle: ${cycle.join(' -> ')}`,
          fix: `remove one of the promotions in the cycle; the first environment of a chain must be promoted from an application`,
        });
      } else if (seen === undefined) {
        visit(edge.to);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const name of environments.keys()) if (!state.has(name)) visit(name);
  return problems;
};

/** Every environment needs an incoming promotion, or nothing is ever deployed to it. */
export const unreachableEnvironments: PipelineRule = ({ pipeline, allEnvironments, tolerate }) => {
  const destinations = new Set(pipeline.promotions.map((p) => p.to));
  const problems: ConfigProblem[] = [];
  allEnvironments.forEach((entry, position) => {
    const name = entry.definition.name;
    if (destinations.has(name) || tolerate.has(name)) return;
    // Suggest the edge a reader most likely forgot: from the environment listed just before, in an earlier stage
    // when there is one, else from the first application.
    const previous = allEnvironments
      .slice(0, position)
      .reverse()
      .find((other) => other.stageIndex < entry.stageIndex);
    const source = previous
      ? `{ environment: ${previous.definition.name} }`
      : `{ application: ${pipeline.applications[0]?.name ?? '<application>'} }`;
    problems.push({
      rule: 'unreachable-environment',
      path: entry.path,
      message: `environment "${name}" is not the destination of any promotion, so nothing is ever deployed there`,
      fix: `add a promotion such as { from: ${source}, to: ${name} }, or remove the environment`,
    });
  });
  return problems;
};

/** Promotions follow the stage order: going back to an earlier stage undoes what the stages express. */
export const promotionDirection: PipelineRule = ({ pipeline, environments }) =>
  pipeline.promotions.flatMap((promotion, i) => {
    if (!('environment' in promotion.from)) return [];
    const from = environments.get(promotion.from.environment);
    const to = environments.get(promotion.to);
    if (!from || !to || to.stageIndex >= from.stageIndex) return [];
    const fromStage = pipeline.stages[from.stageIndex]!.name;
    const toStage = pipeline.stages[to.stageIndex]!.name;
    return [
      {
        rule: 'promotion-direction',
        path: `promotions[${i}].to`,
        message: `promotion goes backwards, from stage "${fromStage}" (${from.definition.name}) to the earlier stage "${toStage}" (${to.definition.name})`,
        fix: 'list the stages in the order revisions flow through them, or reverse this promotion',
      },
    ];
  });

/** A stage groups environments; an empty one shows nothing and promotes nothing. */
export const emptyStages: PipelineRule = ({ pipeline }) =>
  pipeline.stages.flatMap((stage, i) =>
    stage.environments.length === 0
      ? [
          {
            rule: 'empty-stage',
            path: `stages[${i}].environments`,
            message: `stage "${stage.name}" has no environments`,
            fix: 'add an environment to it, or remove the stage',
          },
        ]
      : [],
  );

let knownZones: readonly string[] | undefined;
function timeZoneSuggestion(zone: string): string | undefined {
  knownZones ??= Intl.supportedValuesOf('timeZone');
  const normalized = zone.trim().replace(/\s+/g, '_');
  const exact = knownZones.find((known) => known.toLowerCase() === normalized.toLowerCase());
  if (exact) return exact;
  const city = knownZones.find((known) => known.split('/').pop()!.toLowerCase() === normalized.toLowerCase());
  return city ?? closest(normalized, knownZones);
}

/** Windows need a real IANA time zone and must actually open. */
export const timeWindows: PipelineRule = ({ allEnvironments }) => {
  const problems: ConfigProblem[] = [];
  for (const entry of allEnvironments) {
    entry.definition.windows.forEach((window, w) => {
      const path = `${entry.path}.windows[${w}]`;
      if (!IANAZone.isValidZone(window.timeZone)) {
        const suggestion = timeZoneSuggestion(window.timeZone);
        problems.push({
          rule: 'time-zone',
          path: `${path}.timeZone`,
          message: `"${window.timeZone}" is not an IANA time zone`,
          fix:
            suggestion !== undefined
              ? `use "${suggestion}"`
              : 'use an IANA time zone name such as "Europe/London" or "America/New_York" (see the tz database list)',
        });
      }
      if (window.start === '24:00') {
        problems.push({
          rule: 'time-window',
          path: `${path}.start`,
          message: 'a window cannot start at "24:00" ("24:00" only means the end of a day)',
          fix: 'start at "00:00" and list the following day in "days"',
        });
      } else if (window.start === window.end) {
        problems.push({
          rule: 'time-window',
          path,
          message: `window ${window.start}-${window.end} is empty: it opens and closes at the same time`,
          fix: 'give it different start and end times; for the whole day use start "00:00" and end "24:00"',
        });
      }
    });
  }
  return problems;
};

/** A manual promotion needs someone to ask; approvers on an automatic promotion are never asked. */
export const manualApprovers: PipelineRule = ({ pipeline, environments, allEnvironments }) => {
  const problems: ConfigProblem[] = [];
  for (const entry of allEnvironments) {
    const manual = entry.definition.approval.manual;
    if (!manual) continue;
    const distinct = new Set(manual.approvers.map((a) => a.trim().toLowerCase())).size;
    if (manual.required > distinct) {
      problems.push({
        rule: 'manual-approvers',
        path: `${entry.path}.approval.manual.required`,
        message: `environment "${entry.definition.name}" requires ${manual.required} approvals but lists ${distinct} distinct approver${distinct === 1 ? '' : 's'}, so no revision could ever be approved`,
        fix: `list at least ${manual.required} approvers, or lower required to ${distinct}`,
      });
    }
  }
  pipeline.promotions.forEach((promotion, i) => {
    const own = promotion.approvers ?? [];
    if (promotion.approval === 'manual') {
      const destination = environments.get(promotion.to);
      // An unknown destination is reported by promotionReferences.
      if (!destination || own.length > 0 || destination.definition.approval.manual) return;
      problems.push({
        rule: 'manual-approvers',
        path: `promotions[${i}].approval`,
        message: `promotion ${promotionId(promotion)} needs a manual approval, but it lists no approvers and environment "${promotion.to}" has no manual approvers either`,
        fix: `add approvers: [someone@example.com] to the promotion, or approval.manual.approvers to environment "${promotion.to}"`,
      });
    } else if (own.length > 0) {
      problems.push({
        rule: 'manual-approvers',
        path: `promotions[${i}].approvers`,
        message: 'approvers are listed, but approval is "automatic", so nobody is asked',
        fix: 'set approval: manual to ask them, or remove approvers',
      });
    }
  });
  return problems;
};

/** Definitions nothing uses are almost always a forgotten line: say which one. */
export const unusedDefinitions: PipelineRule = ({ pipeline, allEnvironments, tolerate }) => {
  const problems: ConfigProblem[] = [];
  const usedPackages = new Set(pipeline.applications.flatMap((a) => a.packages));
  pipeline.packages.forEach((pkg, i) => {
    if (usedPackages.has(pkg.name) || tolerate.has(pkg.name)) return;
    problems.push({
      rule: 'unused-definition',
      path: `packages[${i}]`,
      message: `package "${pkg.name}" is not part of any application, so it is never built`,
      fix: `add it to an application's packages, or remove it`,
    });
  });
  const carried = new Set(pipeline.promotions.flatMap((p) => sourceApplications(p)));
  const firstEnvironment = allEnvironments[0]?.definition.name ?? '<environment>';
  pipeline.applications.forEach((application, i) => {
    if (carried.has(application.name) || tolerate.has(application.name)) return;
    problems.push({
      rule: 'unused-definition',
      path: `applications[${i}]`,
      message: `application "${application.name}" is never deployed: no promotion starts from it`,
      fix: `add a promotion such as { from: { application: ${application.name} }, to: ${firstEnvironment} }, or include it in an existing promotion's from.application list`,
    });
  });
  return problems;
};

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return hours === 0 ? `${rest}m` : rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}

/**
 * `lockLease` is the whole hold, approval wait included: a lease shorter than the manual approval's timeout plus
 * the bake time would lapse while the approver decides, and another promotion would deploy over the revision
 * under review.
 */
export const lockLeaseCoversApproval: PipelineRule = ({ allEnvironments }) =>
  allEnvironments.flatMap(({ definition, path }) => {
    if (definition.lockLease === undefined) return [];
    const wait = approvalWaitMs(definition);
    const lease = durationMs(definition.lockLease);
    if (wait === 0 || lease > wait) return [];
    const parts = [
      ...(definition.deploy.cdk
        ? [`the permissions-broadening confirmation's timeout (${definition.deploy.cdk.timeout})`]
        : []),
      ...(definition.approval.manual ? [`the manual approval's timeout (${definition.approval.manual.timeout})`] : []),
      ...(definition.approval.bakeTime ? [`the bake time (${bakeDuration(definition.approval)})`] : []),
    ].join(' plus ');
    return [
      {
        rule: 'lock-lease',
        path: `${path}.lockLease`,
        message:
          `lockLease ${definition.lockLease} is the whole time a promotion holds the lock of "${definition.name}", approval wait included, ` +
          `but ${parts} alone take ${formatDuration(wait)}: the lock would lapse while the revision is still under review`,
        fix: `set lockLease to at least ${formatDuration(wait + 3_600_000)} (the wait plus time for the deploy and tests), or remove it for the default (2h plus the wait: ${formatDuration(wait + 7_200_000)})`,
      },
    ];
  });

/**
 * `renamedFrom` names the environment's old name: not a name in use now (that environment still exists), not its
 * own name, and claimed by one environment only (two environments cannot both inherit one history).
 */
export const renamedEnvironments: PipelineRule = ({ allEnvironments, environments }) => {
  const problems: ConfigProblem[] = [];
  const claimed = new Map<string, string>();
  for (const { definition, path } of allEnvironments) {
    const old = definition.renamedFrom;
    if (old === undefined) continue;
    const at = `${path}.renamedFrom`;
    if (old === definition.name) {
      problems.push({
        rule: 'renamed-from',
        path: at,
        message: `environment "${old}" says it was renamed from itself`,
        fix: 'remove renamedFrom, or set it to the old name',
      });
    } else if (environments.has(old)) {
      problems.push({
        rule: 'renamed-from',
        path: at,
        message: `environment "${definition.name}" is renamed from "${old}", but "${old}" is still defined`,
        fix: `remove environment "${old}" (its history moves to "${definition.name}"), or remove renamedFrom`,
      });
    } else if (claimed.has(old)) {
      problems.push({
        rule: 'renamed-from',
        path: at,
        message: `environments "${claimed.get(old)}" and "${definition.name}" are both renamed from "${old}"`,
        fix: `keep renamedFrom: ${old} on one of them only`,
      });
    } else {
      claimed.set(old, definition.name);
    }
  }
  return problems;
};

/** The role a deploy assumes must live in the account the environment names. */
export const roleAccount: PipelineRule = ({ allEnvironments }) =>
  allEnvironments.flatMap(({ definition, path }) => {
    const roleAccountId = definition.roleArn?.split(':')[4];
    if (definition.account === undefined || roleAccountId === undefined || roleAccountId === definition.account)
      return [];
    return [
      {
        rule: 'role-account',
        path: `${path}.roleArn`,
        message: `role ${definition.roleArn} is in account ${roleAccountId}, but environment "${definition.name}" deploys to account ${definition.account}`,
        fix: `use a role in account ${definition.account}, or correct "account"`,
      },
    ];
  });

/**
 * The alarms of an alarm-watched bake are read in the environment's own account and region (through its role when
 * it names one), so an alarm ARN must name that account and region: the environment's `account` (else its role's
 * account), its `region`. An environment that names neither reads alarms in Lockstep's own account and region, which
 * the pipeline file does not know: the CDK construct checks those ARNs against its stack (`alarmHomeProblems`). An
 * alarm listed twice is a slip.
 */
export const bakeAlarms: PipelineRule = ({ allEnvironments }) =>
  allEnvironments.flatMap(({ definition, path }) => {
    const bake = alarmBake(definition.approval);
    if (!bake) return [];
    const problems: ConfigProblem[] = [];
    const account = environmentAccount(definition);
    const seen = new Map<string, number>();
    bake.alarms.forEach((reference, index) => {
      const at = `${path}.approval.bakeTime.alarms[${index}]`;
      const alarm = parseAlarmReference(reference);
      const earlier = seen.get(alarm.name);
      if (earlier !== undefined) {
        problems.push({
          rule: 'bake-alarm',
          path: at,
          message: `alarm "${alarm.name}" is already listed at alarms[${earlier}] of environment "${definition.name}"`,
          fix: 'list each alarm once',
        });
      }
      seen.set(alarm.name, earlier ?? index);
      if (alarm.account !== undefined && account !== undefined && alarm.account !== account) {
        problems.push({
          rule: 'bake-alarm',
          path: at,
          message: `alarm ${reference} is in account ${alarm.account}, but environment "${definition.name}" is in account ${account}: Lockstep reads an environment's alarms in its own account`,
          fix: `use an alarm of account ${account} (or just its name), or correct the environment's ${definition.account !== undefined ? '"account"' : '"roleArn"'}`,
        });
      }
      if (alarm.region !== undefined && definition.region !== undefined && alarm.region !== definition.region) {
        problems.push({
          rule: 'bake-alarm',
          path: at,
          message: `alarm ${reference} is in region ${alarm.region}, but environment "${definition.name}" is in region ${definition.region}: Lockstep reads an environment's alarms in its own region`,
          fix: `use an alarm of region ${definition.region} (or just its name), or correct the environment's "region"`,
        });
      }
    });
    return problems;
  });

/** The account an environment deploys to, when the definition says it: `account`, else its role's account. */
export function environmentAccount(definition: Pick<EnvironmentDefinition, 'account' | 'roleArn'>): string | undefined {
  return definition.account ?? definition.roleArn?.split(':')[4];
}

/** An account or region alarms are read in, and where that value came from (for the message). */
interface HomeValue {
  readonly value: string;
  readonly origin: string;
}

/**
 * Alarm ARNs of environments that name no account (or no region) must be in Lockstep's own account (or region),
 * where their alarms are read. `home` is the stack's account and region when they are known (the CDK construct
 * passes them at synth); without them the first such ARN stands for Lockstep's account (or region), so ARNs that
 * disagree among themselves are still reported by `validate`.
 */
export function alarmHomeProblems(
  pipeline: Pipeline,
  home: { readonly account?: string; readonly region?: string } = {},
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  let account: HomeValue | undefined = home.account
    ? { value: home.account, origin: "Lockstep's own account" }
    : undefined;
  let region: HomeValue | undefined = home.region ? { value: home.region, origin: "Lockstep's own region" } : undefined;
  pipeline.stages.forEach((stage, s) =>
    stage.environments.forEach((definition, e) => {
      const bake = alarmBake(definition.approval);
      if (bake && home.account && !definition.roleArn && definition.account && definition.account !== home.account) {
        problems.push({
          rule: 'bake-alarm',
          path: `stages[${s}].environments[${e}].roleArn`,
          message: `environment "${definition.name}" watches alarms in account ${definition.account} but names no roleArn, and Lockstep (account ${home.account}) can read another account's alarms only through a role`,
          fix: `set roleArn to a role in account ${definition.account} that Lockstep may assume and that allows cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory`,
        });
      }
      bake?.alarms.forEach((reference, index) => {
        const alarm = parseAlarmReference(reference);
        const path = `stages[${s}].environments[${e}].approval.bakeTime.alarms[${index}]`;
        const origin = `alarm ${reference} of environment "${definition.name}"`;
        if (environmentAccount(definition) === undefined && alarm.account !== undefined) {
          account ??= { value: alarm.account, origin: `the account of ${origin}` };
          if (alarm.account !== account.value) {
            problems.push({
              rule: 'bake-alarm',
              path,
              message: `alarm ${reference} is in account ${alarm.account}, but environment "${definition.name}" names no account, so its alarms are read in Lockstep's own account (${account.value}, ${account.origin})`,
              fix: `use an alarm of account ${account.value} (or just its name), or set the environment's "account" and "roleArn" to read alarms in account ${alarm.account}`,
            });
          }
        }
        if (definition.region === undefined && alarm.region !== undefined) {
          region ??= { value: alarm.region, origin: `the region of ${origin}` };
          if (alarm.region !== region.value) {
            problems.push({
              rule: 'bake-alarm',
              path,
              message: `alarm ${reference} is in region ${alarm.region}, but environment "${definition.name}" names no region, so its alarms are read in Lockstep's own region (${region.value}, ${region.origin})`,
              fix: `use an alarm of region ${region.value} (or just its name), or set the environment's "region" to ${alarm.region}`,
            });
          }
        }
      });
    }),
  );
  return problems;
}

/** Alarm ARNs of environments without an account or region must agree on Lockstep's own (see `alarmHomeProblems`). */
export const bakeAlarmHome: PipelineRule = ({ pipeline }) => alarmHomeProblems(pipeline);

/**
 * A deploy step is either the team's own commands or a CDK application whose commands Lockstep writes, never both
 * and never neither; a CDK deploy that broadens permissions needs somebody to confirm it.
 */
export const deployDefinition: PipelineRule = ({ allEnvironments }) =>
  allEnvironments.flatMap(({ definition, path }): ConfigProblem[] => {
    const { commands, cdk } = definition.deploy;
    if (commands === undefined && cdk === undefined) {
      return [
        {
          rule: 'deploy-definition',
          path: `${path}.deploy`,
          message: `environment "${definition.name}" says neither how to deploy (commands) nor what to deploy (cdk)`,
          fix: 'add commands: [<shell command>, ...], or cdk: { stacks: [<stack>, ...] } for a CDK application',
        },
      ];
    }
    if (commands !== undefined && cdk !== undefined) {
      return [
        {
          rule: 'deploy-definition',
          path: `${path}.deploy`,
          message: `environment "${definition.name}" sets both commands and cdk; with cdk, Lockstep writes the deploy commands itself (cdk diff, then cdk deploy)`,
          fix: 'remove commands to deploy the CDK application, or remove cdk to run your own commands',
        },
      ];
    }
    if (cdk !== undefined && permissionsApprovers(definition).length === 0) {
      return [
        {
          rule: 'deploy-definition',
          path: `${path}.deploy.cdk`,
          message: `nobody can confirm a deploy of "${definition.name}" that broadens IAM permissions or security groups, so such a deploy would wait until it times out`,
          fix: 'set cdk.approvers: [<email>, ...], or approval.manual.approvers (the default for cdk.approvers)',
        },
      ];
    }
    return [];
  });

/** Every rule, in the order their problems are listed for a definition that does not come from a file. */
/**
 * Waves order a stage's own environments: each must name an environment of that stage, once, and together they
 * must cover the stage, so no environment of a waved stage is left without an order.
 */
export const stageWaves: PipelineRule = ({ pipeline, environments }) => {
  const problems: ConfigProblem[] = [];
  pipeline.stages.forEach((stage, s) => {
    if (!stage.waves) return;
    const own = stage.environments.map((e) => e.name);
    const seen = new Map<string, number>();
    stage.waves.forEach((wave, w) => {
      wave.environments.forEach((name, e) => {
        const path = `stages[${s}].waves[${w}].environments[${e}]`;
        const where = environments.get(name);
        if (!where) {
          const suggestion = closest(name, own);
          problems.push({
            rule: 'wave-environment',
            path,
            message: `wave ${w + 1} of stage "${stage.name}" names "${name}", which is not an environment`,
            fix: suggestion ? `did you mean "${suggestion}"?` : `use one of: ${own.join(', ')}`,
          });
        } else if (where.stageIndex !== s) {
          problems.push({
            rule: 'wave-environment',
            path,
            message: `wave ${w + 1} of stage "${stage.name}" names "${name}", an environment of stage "${pipeline.stages[where.stageIndex]!.name}"`,
            fix: `waves order the environments of their own stage; move "${name}" into stage "${stage.name}" or out of the wave`,
          });
        } else if (seen.has(name)) {
          problems.push({
            rule: 'wave-environment',
            path,
            message: `"${name}" is in wave ${seen.get(name)! + 1} and again in wave ${w + 1} of stage "${stage.name}"`,
            fix: 'list each environment in one wave only',
          });
        } else {
          seen.set(name, w);
        }
      });
      if (wave.maxConcurrent !== undefined && wave.maxConcurrent > wave.environments.length) {
        problems.push({
          rule: 'wave-concurrency',
          path: `stages[${s}].waves[${w}].maxConcurrent`,
          message: `wave ${w + 1} of stage "${stage.name}" allows ${wave.maxConcurrent} at once but has ${wave.environments.length} environment(s)`,
          fix: `use at most ${wave.environments.length}, or leave maxConcurrent out`,
        });
      }
    });
    const missing = own.filter((name) => !seen.has(name));
    if (missing.length > 0) {
      problems.push({
        rule: 'wave-environment',
        path: `stages[${s}].waves`,
        message: `stage "${stage.name}" has waves, but ${missing.map((n) => `"${n}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} in none of them`,
        fix: 'add each environment of the stage to one wave (a wave may hold one environment)',
      });
    }
  });
  return problems;
};

export const PIPELINE_RULES: readonly PipelineRule[] = [
  duplicateNames,
  applicationPackages,
  unusedDefinitions,
  emptyStages,
  stageWaves,
  timeWindows,
  roleAccount,
  bakeAlarms,
  bakeAlarmHome,
  deployDefinition,
  lockLeaseCoversApproval,
  promotionReferences,
  selfPromotion,
  singleIncomingPromotion,
  promotionCycles,
  promotionDirection,
  unreachableEnvironments,
  manualApprovers,
  renamedEnvironments,
];

/**
 * Runs every cross-reference rule over a schema-valid pipeline and returns all problems (empty when the pipeline
 * is usable). Pure: no I/O, no clock.
 *
 * @example
 * const problems = validatePipeline(pipelineSchema.parse(input));
 * if (problems.length > 0) throw new ConfigError(problems);
 */
export function validatePipeline(pipeline: Pipeline, options: ValidateOptions = {}): ConfigProblem[] {
  const ctx = context(pipeline, options);
  return PIPELINE_RULES.flatMap((rule) => rule(ctx));
}
