/**
 * Draws a pipeline as a Mermaid flowchart: applications as source nodes, stages as subgraphs in definition order,
 * environments inside them (time windows and manual approvals marked), promotions as arrows. Output depends only
 * on the definition, so it can be committed and diffed.
 */
import { describeWindow } from './describe';
import type { EnvironmentDefinition, Pipeline } from './schema';
import { promotionsOf, sourceApplications } from './validate';

/** Marks used in labels; spelled out here so the legend and tests agree. */
export const GRAPH_MARKS = { window: '🕒', manual: '✋', compliance: '📋' } as const;

/**
 * The pipeline as Mermaid `flowchart LR` source (without a Markdown fence).
 *
 * @example
 * console.log(toMermaid(loadPipeline('lockstep.config.yaml')));
 * // flowchart LR
 * //   app_storefront(["storefront"])
 * //   subgraph stage_Alpha ["Alpha"]
 * //   ...
 */
export function toMermaid(pipeline: Pipeline): string {
  const ids = new NodeIds();
  const lines: string[] = ['flowchart LR', `  %% pipeline ${pipeline.pipeline.name}, drawn by lockstep graph`];
  const classes = { application: [] as string[], manual: [] as string[], windowed: [] as string[] };

  for (const application of pipeline.applications) {
    const id = ids.get('app', application.name);
    classes.application.push(id);
    lines.push(`  ${id}(["${label([application.name, `packages: ${application.packages.join(', ')}`])}"])`);
  }

  const defined = new Set<string>();
  for (const stage of pipeline.stages) {
    lines.push(`  subgraph ${ids.get('stage', stage.name)} ["${label([stage.name])}"]`);
    for (const environment of stage.environments) {
      const id = ids.get('env', environment.name);
      defined.add(environment.name);
      if (environment.approval.manual) classes.manual.push(id);
      if (environment.windows.length > 0) classes.windowed.push(id);
      lines.push(`    ${id}["${label(environmentLines(environment))}"]`);
    }
    lines.push('  end');
  }

  // A definition that refers to an environment no stage defines still draws, with the name marked.
  const undefinedEnvironments = new Set<string>();
  const environmentNode = (name: string) => {
    if (!defined.has(name) && !undefinedEnvironments.has(name)) {
      undefinedEnvironments.add(name);
      lines.push(`  ${ids.get('env', name)}["${label([`${name} (not defined)`])}"]`);
    }
    return ids.get('env', name);
  };

  const arrows: string[] = [];
  for (const promotion of promotionsOf(pipeline)) {
    const sources =
      'environment' in promotion.from
        ? [environmentNode(promotion.from.environment)]
        : sourceApplications(promotion).map((name) => ids.get('app', name));
    const destination = environmentNode(promotion.to);
    const notes = [
      ...(promotion.strategy === 'latest' ? [] : [promotion.strategy]),
      ...(promotion.approval === 'manual' ? [`${GRAPH_MARKS.manual} manual`] : []),
      ...(promotion.enabled ? [] : ['disabled']),
    ];
    const arrow = promotion.enabled ? '-->' : '-.->';
    const text = notes.length === 0 ? '' : `|"${label([notes.join(' · ')])}"|`;
    for (const source of sources) arrows.push(`  ${source} ${arrow}${text} ${destination}`);
  }
  lines.push(...arrows);

  lines.push(
    '  classDef application fill:#eef2ff,stroke:#4f46e5',
    '  classDef manual stroke:#b45309,stroke-width:3px',
    '  classDef windowed fill:#f1f5f9',
  );
  for (const [name, members] of Object.entries(classes)) {
    if (members.length > 0) lines.push(`  class ${members.join(',')} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The diagram in a Markdown ```mermaid fence, ready to paste into a README or a pull request. */
export function toMermaidMarkdown(pipeline: Pipeline): string {
  return `\`\`\`mermaid\n${toMermaid(pipeline)}\`\`\`\n`;
}

function environmentLines(environment: EnvironmentDefinition): string[] {
  const lines = [environment.name];
  for (const window of environment.windows) lines.push(`${GRAPH_MARKS.window} ${describeWindow(window)}`);
  if (environment.approval.manual) lines.push(`${GRAPH_MARKS.manual} manual approval`);
  if (environment.approval.compliance)
    lines.push(`${GRAPH_MARKS.compliance} ${environment.approval.compliance.policy}`);
  return lines;
}

/** Mermaid label text: lines joined by `<br/>`, quotes and angle brackets escaped so names cannot break the syntax. */
function label(lines: readonly string[]): string {
  return lines
    .map((line) => line.replace(/&/g, '&amp;').replace(/"/g, '#quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;'))
    .join('<br/>');
}

/**
 * Mermaid ids from names: a kind prefix (so `end` or `graph` never collide with keywords), characters other than
 * letters, digits and `_` replaced, and a numeric suffix when two names would sanitize to the same id.
 */
class NodeIds {
  private readonly byKey = new Map<string, string>();
  private readonly used = new Set<string>();

  get(kind: 'app' | 'stage' | 'env', name: string): string {
    const key = `${kind}:${name}`;
    const existing = this.byKey.get(key);
    if (existing) return existing;
    const base = `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    this.byKey.set(key, id);
    return id;
  }
}
