/**
 * `lockstep init`: writes a starter `lockstep.config.yaml` for the git repository in this folder, so a team can
 * try Lockstep on its own service with `lockstep local` before deploying it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_PIPELINE_FILE } from '../../lambdas/core/config/load';
import { LockstepError } from '../../lambdas/core/errors';

export class InitError extends LockstepError {}

/**
 * A starter pipeline for the repository `repoName` on `branch`: one package built with npm, one application, two
 * stages (Beta with a manual approval, then Prod), deploying into a folder under the data folder. Its local source
 * is `..`: a relative `local.path` starts at the data folder (`.lockstep/` by default), so `..` is this repository.
 */
export function starterPipeline(repoName: string, branch: string): string {
  const name =
    repoName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'my-service';
  return `# Lockstep pipeline for ${repoName}, written by \`lockstep init\`. Check it with \`npx lockstep validate\`,
# then run it on this machine, no AWS account needed:
#   npx lockstep local --config ${DEFAULT_PIPELINE_FILE}
# It builds the head of the branch below, and every new commit on it within a minute. Replace the build, deploy
# and test commands with your own; the README ("Try Lockstep on your own service first") walks through it.
pipeline:
  name: ${name}
  # Commits pushed within 2 seconds of each other are built together (the default waits 30 seconds).
  buildDebounce: 2s

packages:
  - name: ${name}
    source:
      # A relative local path starts at the data folder (.lockstep/ by default), so ".." is this repository.
      # On AWS, use github: { owner, repo, branch, connectionArn } or codecommit: { repository, branch } instead.
      local:
        path: ..
        branch: ${branch}
    build:
      commands:
        - git rev-parse HEAD > BUILT_COMMIT
      artifacts:
        - BUILT_COMMIT

applications:
  - name: ${name}
    packages: [${name}]

stages:
  - name: Beta
    environments:
      - name: beta
        deploy:
          commands:
            - echo "deploying revision $LOCKSTEP_REVISION of commit $(cat BUILT_COMMIT)"
        approval:
          tests:
            - name: smoke
              commands:
                - test -s BUILT_COMMIT
          manual:
            approvers: [you@example.com]
  - name: Prod
    environments:
      - name: prod
        deploy:
          commands:
            - echo "deploying revision $LOCKSTEP_REVISION of commit $(cat BUILT_COMMIT)"

promotions:
  - from: { application: ${name} }
    to: beta
  - from: { environment: beta }
    to: prod
`;
}

export function register(program: Command): void {
  program
    .command('init')
    .description(`write a starter ${DEFAULT_PIPELINE_FILE} for the git repository in this folder`)
    .option('--config <file>', 'where to write it', DEFAULT_PIPELINE_FILE)
    .option('--branch <branch>', 'the branch Lockstep builds', 'main')
    .option('--force', 'overwrite an existing file')
    .action((options: { config: string; branch: string; force?: boolean }) => {
      const file = resolve(options.config);
      if (existsSync(file) && !options.force) {
        throw new InitError(`${file} exists already; edit it, or pass --force to replace it with the starter`);
      }
      writeFileSync(file, starterPipeline(basename(process.cwd()), options.branch));
      console.log(`wrote ${file}`);
      console.log(`next: npx lockstep validate ${options.config} && npx lockstep local --config ${options.config}`);
      console.log('local mode keeps its state in .lockstep/: add it to .gitignore');
    });
}
