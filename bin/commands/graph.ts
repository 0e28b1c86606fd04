/**
 * `lockstep graph [file]`: prints the pipeline as a Mermaid flowchart (stages as groups, promotions as arrows,
 * windows and manual approvals marked), optionally fenced for Markdown.
 */
import type { Command } from 'commander';
import { toMermaid, toMermaidMarkdown } from '../../lambdas/core/config/graph';
import { checkPipelineFile, ConfigError, DEFAULT_PIPELINE_FILE } from '../../lambdas/core/config/load';

export function register(program: Command): void {
  program
    .command('graph')
    .description('print the pipeline as a Mermaid diagram')
    .argument('[file]', 'pipeline definition (.yaml, .json, or a .ts module exporting it)', DEFAULT_PIPELINE_FILE)
    .option('--markdown', 'wrap the diagram in a ```mermaid fence')
    .action(async (file: string, options: { markdown?: boolean }) => {
      const result = await checkPipelineFile(file);
      // Drawing an invalid definition would show edges that cannot run; say what to fix instead.
      if (!result.pipeline) throw new ConfigError(result.problems, { source: file });
      process.stdout.write(options.markdown ? toMermaidMarkdown(result.pipeline) : toMermaid(result.pipeline));
    });
}
