import { describe, expect, it } from '@jest/globals';
import { toMermaid, toMermaidMarkdown } from '../../lambdas/core/config/graph';
import { loadPipeline } from '../../lambdas/core/config/load';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { basePipeline } from './fixtures';

const threeStage = () => loadPipeline('examples/three-stage/lockstep.config.yaml');

describe('toMermaid on the three-stage example', () => {
  const lines = toMermaid(threeStage()).split('\n');

  it('is a left-to-right flowchart with the stages as subgraphs in order', () => {
    expect(lines[0]).toBe('flowchart LR');
    const subgraphs = lines.filter((line) => line.trimStart().startsWith('subgraph'));
    expect(subgraphs).toEqual([
      '  subgraph stage_Alpha ["Alpha"]',
      '  subgraph stage_Beta ["Beta"]',
      '  subgraph stage_Prod ["Prod"]',
    ]);
  });

  it('puts each environment inside its stage', () => {
    const prod = lines.indexOf('  subgraph stage_Prod ["Prod"]');
    const end = lines.indexOf('  end', prod);
    const inside = lines.slice(prod + 1, end).map((line) => line.trim().split('[')[0]);
    expect(inside).toEqual(['env_prod_na', 'env_prod_eu', 'env_prod_fe']);
  });

  it('draws the application as a source node and each promotion as an arrow', () => {
    expect(lines).toContain('  app_storefront(["storefront<br/>packages: storefront"])');
    const arrows = lines.filter((line) => line.includes('-->'));
    expect(arrows).toEqual([
      '  app_storefront --> env_alpha',
      '  env_alpha --> env_beta',
      '  env_beta --> env_prod_na',
      '  env_beta --> env_prod_eu',
      '  env_beta --> env_prod_fe',
    ]);
  });

  it('marks the night windows in their own time zones and the manual approval before Prod', () => {
    expect(lines).toContain(
      '    env_prod_eu["prod-eu<br/>🕒 Mon-Fri 22:00-04:00 Europe/London<br/>📋 change-management"]',
    );
    expect(lines.find((line) => line.includes('env_prod_na['))).toContain('🕒 Mon-Fri 22:00-04:00 America/New_York');
    expect(lines.find((line) => line.includes('env_prod_fe['))).toContain('🕒 Mon-Fri 22:00-04:00 Asia/Tokyo');
    expect(lines).toContain('    env_beta["beta<br/>✋ manual approval"]');
    expect(lines).toContain('  class env_beta manual');
  });

  it('is the same every time', () => {
    expect(toMermaid(threeStage())).toBe(toMermaid(threeStage()));
    expect(toMermaid(threeStage())).toMatchSnapshot();
  });
});

describe('promotion arrows', () => {
  it('labels the strategy when it is not latest, marks manual promotions, and dashes disabled ones', () => {
    const input = basePipeline();
    input.promotions![1] = {
      from: { environment: 'beta' },
      to: 'prod',
      strategy: 'compatible',
      approval: 'manual',
      approvers: ['release@example.com'],
      enabled: false,
    };
    const lines = toMermaid(pipelineSchema.parse(input)).split('\n');
    expect(lines).toContain('  env_beta -.->|"compatible · ✋ manual · disabled"| env_prod');
    expect(lines).toContain('  app_web --> env_beta');
  });

  it('draws one arrow per application of a promotion from several applications', () => {
    const input = basePipeline();
    input.applications.push({ name: 'api', packages: ['lib'] });
    input.promotions![0] = { from: { application: ['web', 'api'] }, to: 'beta' };
    const lines = toMermaid(pipelineSchema.parse(input)).split('\n');
    expect(lines).toContain('  app_web --> env_beta');
    expect(lines).toContain('  app_api --> env_beta');
  });
});

describe('node ids', () => {
  it('keeps ids apart for names that sanitize alike, and never uses a bare keyword', () => {
    const input = basePipeline();
    input.stages[1]!.environments.push(
      { name: 'prod-eu', deploy: { commands: ['x'] } },
      { name: 'prod_eu', deploy: { commands: ['x'] } },
      { name: 'end', deploy: { commands: ['x'] } },
    );
    const lines = toMermaid(pipelineSchema.parse(input)).split('\n');
    expect(lines).toContain('    env_prod_eu["prod-eu"]');
    expect(lines).toContain('    env_prod_eu_2["prod_eu"]');
    expect(lines).toContain('    env_end["end"]');
  });

  it('escapes quotes in labels', () => {
    // Schema-checked names cannot hold quotes today; the escaping guards a label text the schema may widen later.
    const pipeline = pipelineSchema.parse(basePipeline());
    (pipeline.stages[1]!.environments[0]!.approval as { compliance?: { policy: string } }).compliance = {
      policy: 'the "prod" policy <v2>',
    };
    const text = toMermaid(pipeline);
    expect(text).toContain('📋 the #quot;prod#quot; policy &lt;v2&gt;');
  });
});

describe('toMermaidMarkdown', () => {
  it('wraps the diagram in a mermaid fence', () => {
    const text = toMermaidMarkdown(threeStage());
    expect(text.startsWith('```mermaid\nflowchart LR\n')).toBe(true);
    expect(text.endsWith('\n```\n')).toBe(true);
  });
});
