/**
 * Warnings about a valid pipeline definition: things that pass the schema but will fail, or leak, on AWS.
 * `lockstep validate` prints them after its summary; they never make a definition invalid.
 */
import { alarmBake, type EnvironmentDefinition, type Pipeline } from './schema';

export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

/** Variable names that look like they hold a secret (`GITHUB_TOKEN`, `DB_PASSWORD`, `API_KEY`, `CLIENT_SECRET`). */
const SECRET_LOOKING = /(_TOKEN|_PASSWORD|_PASSWD|_KEY|_SECRET)$|^(TOKEN|PASSWORD|SECRET)$/i;

export function configWarnings(pipeline: Pipeline): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  pipeline.packages.forEach((pkg, i) => {
    if (!('github' in pkg.source)) return;
    const path = `packages[${i}].source.github`;
    warnings.push(
      pkg.source.github.connectionArn
        ? {
            path: `${path}.connectionArn`,
            message: `the CodeConnections connection of "${pkg.name}" must exist and be Available before cdk deploy`,
            fix: 'create it in the console (Developer Tools > Connections) and finish the GitHub handshake before deploying',
          }
        : {
            path,
            message: `CodeBuild refuses to create the build project of "${pkg.name}" unless the account already holds GitHub credentials`,
            fix: 'set connectionArn to a CodeConnections connection that exists before cdk deploy (or import GitHub credentials into CodeBuild first)',
          },
    );
    if (!pkg.source.github.tokenSecret) {
      warnings.push({
        path: `${path}.tokenSecret`,
        message: `"${pkg.name}" has no tokenSecret: Lockstep cannot read its branch head, so a build takes the commit from the push deliveries and a push whose delivery is lost (GitHub does not retry) is built only with the next push`,
        fix: 'store a fine-grained GitHub token with "Contents: read" on the repository in Secrets Manager and set tokenSecret to its ARN',
      });
    }
  });
  const plainVariables = (path: string, variables: Readonly<Record<string, string>> | undefined): void => {
    for (const name of Object.keys(variables ?? {})) {
      if (SECRET_LOOKING.test(name)) {
        warnings.push({
          path: `${path}.variables.${name}`,
          message: `"${name}" looks like a secret but is a plain CodeBuild variable, readable by anyone who can read the project`,
          fix: `move it to secrets: { ${name}: <Secrets Manager or Parameter Store ARN> }`,
        });
      }
    }
  };
  pipeline.packages.forEach((pkg, i) => plainVariables(`packages[${i}].build`, pkg.build.variables));
  pipeline.stages.forEach((stage, s) =>
    stage.environments.forEach((environment, e) => {
      const path = `stages[${s}].environments[${e}]`;
      plainVariables(`${path}.deploy`, environment.deploy.variables);
      environment.approval.tests.forEach((step, t) => plainVariables(`${path}.approval.tests[${t}]`, step.variables));
      const bake = alarmBake(environment.approval);
      if (bake && environment.roleArn) {
        warnings.push({
          path: `${path}.approval.bakeTime.alarms`,
          message: `Lockstep reads the bake alarms of "${environment.name}" through ${environment.roleArn}, so the bake is blocked unless that role trusts Lockstep's promotion-steps function and allows cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory`,
          fix: `allow both actions on ${bake.alarms.length === 1 ? 'the alarm' : 'the alarms'} (arn:aws:cloudwatch:<region>:<account>:alarm:<name>) in the role's policy, and let the stack's promotion-steps role assume it (sts:AssumeRole in the trust policy)`,
        });
      }
      if (environment.deploy.cdk) warnings.push(cdkTargetWarning(environment, `${path}.deploy.cdk`));
      const permissions = environment.deploy.permissions;
      // A deploy.cdk environment without a role deploys through the CDK bootstrap roles (cdkTargetWarning).
      if (
        !environment.roleArn &&
        !environment.deploy.cdk &&
        !permissions?.managedPolicyArns?.length &&
        !permissions?.policyDocument
      ) {
        warnings.push({
          path: `${path}.deploy`,
          message: `the deploy step of "${environment.name}" has no roleArn and no permissions, so every AWS call its commands make is denied`,
          fix: 'set roleArn (a role the deploy assumes), or deploy.permissions with managedPolicyArns or a policyDocument',
        });
      }
    }),
  );
  return warnings;
}

/**
 * `cdk diff` reads the deployed template in the target account and `cdk deploy` publishes assets and deploys through
 * the CDK bootstrap roles there: the credentials the deploy step holds must reach them, which synth cannot check.
 */
function cdkTargetWarning(environment: EnvironmentDefinition, path: string): ConfigWarning {
  const account = environment.account ?? '<account>';
  const region = environment.region ?? '<region>';
  const bootstrap = `arn:aws:iam::${account}:role/cdk-hnb659fds-{lookup,deploy,file-publishing,image-publishing}-role-${account}-${region}`;
  return environment.roleArn
    ? {
        path,
        message: `the security diff and the deploy of "${environment.name}" run as ${environment.roleArn}: cdk diff reads the deployed stacks' templates and cdk deploy goes through the CDK bootstrap roles of that account`,
        fix: `allow the role sts:AssumeRole on ${bootstrap} (bootstrap roles trust their own account), or at least cloudformation:GetTemplate and cloudformation:DescribeStacks on the stacks for the diff, plus what cdk deploy needs`,
      }
    : {
        path,
        message: `the security diff and the deploy of "${environment.name}" run as the deploy project's own role, which Lockstep lets assume the CDK bootstrap roles of its own account and region only`,
        fix: `bootstrap that account and region (cdk bootstrap), or set roleArn to a role in the target account that may assume ${bootstrap}`,
      };
}
