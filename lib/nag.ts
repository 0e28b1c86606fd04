/**
 * cdk-nag wiring. `applyNagChecks(app)` runs the AwsSolutions pack during synth (a finding fails synth and lands
 * in `cdk.out/validation-report.json`); `acknowledge()` records a reviewed exception on one construct.
 *
 * Acknowledgements are always per resource and per finding: cdk-nag 3 matches ids exactly, so a wildcard finding
 * names the action or resource it allows (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/revisions/web/*]`). Never
 * acknowledge on a Stack or App.
 */
import { Stack, Token, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export interface NagAcknowledgement {
  /** Rule id, with the finding in brackets for rules that report several (`AwsSolutions-IAM5[Action::s3:*]`). */
  readonly id: string;
  /** Why the finding is acceptable here: specific to this resource, checked by a test for substance. */
  readonly reason: string;
}

/** Runs the AwsSolutions rules on everything in `app` during synth. */
export function applyNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** Acknowledges findings on one construct (and the resources under it). */
export function acknowledge(construct: IConstruct, ...acknowledgements: NagAcknowledgement[]): void {
  if (Stack.isStack(construct)) throw new Error('Acknowledge findings on the resource that has them, not on a stack');
  Validations.of(construct).acknowledge(...acknowledgements);
}

/**
 * The finding id cdk-nag reports for a wildcard resource in an IAM policy, e.g.
 * `resourceFinding(scope, bucket.arnForObjects('revisions/web/*'))` -> `Resource::<ArtifactsBucket1234.Arn>/revisions/web/*`.
 * Tokens are resolved the way cdk-nag flattens them, so the id matches even though it holds logical ids.
 */
export function resourceFinding(scope: IConstruct, resource: string): string {
  const resolved: unknown = Token.isUnresolved(resource) ? Stack.of(scope).resolve(resource) : resource;
  return `Resource::${flatten(resolved)}`;
}

/** Mirrors cdk-nag's flattening of CloudFormation intrinsics in finding ids. */
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && typeof node === 'object') {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value['Fn::Join'])) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if ('Fn::Sub' in value) return flatten(value['Fn::Sub']);
    if (Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if ('Fn::ImportValue' in value) return flatten(value['Fn::ImportValue']);
    if ('Ref' in value) return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
