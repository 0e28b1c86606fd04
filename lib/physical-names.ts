/**
 * Physical names for the few resources that need one. Fixed names collide between two stacks in one account and
 * region, and a retained resource with a fixed name survives a rolled-back first create, so every retry then fails
 * with "already exists". Names here are therefore either scoped to the stack (stack names are unique per account
 * and region) or, for retained resources, unique per stack creation.
 */
import { createHash } from 'node:crypto';
import { Aws, Fn, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * `<stack name>-<suffix>`: unique per account and region because the stack name is. A name over `maxLength` keeps
 * its start and ends in a hash of the whole name, so two long stack names never shorten to the same name.
 */
export function stackScopedName(scope: IConstruct, suffix: string, maxLength: number): string {
  const name = `${Stack.of(scope).stackName}-${suffix}`;
  if (name.length <= maxLength) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, maxLength - hash.length - 1)}-${hash}`;
}

/**
 * `<name>-<stack id>`: the GUID at the end of `AWS::StackId` is new for every stack creation, so a retained
 * resource left by a rolled-back first create, or by `cdk destroy`, never blocks the next create.
 */
export function perCreationName(name: string): string {
  return `${name}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
}
