/**
 * Checks shared by every construct's cdk-nag test: each acknowledgement sits on a resource (never a stack) and
 * carries a specific reason.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { expect } from '@jest/globals';

export interface Acknowledgement {
  readonly construct: IConstruct;
  readonly id: string;
  readonly reason: string;
}

/** Every cdk-nag acknowledgement recorded under `scope`. */
export function acknowledgementsIn(scope: IConstruct): Acknowledgement[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, value]) => ({
          construct,
          id,
          reason: typeof value === 'string' ? value : String((value as { reason?: string }).reason),
        })),
      ),
  );
}

/** Asserts there are acknowledgements, none on a stack, each with a reason of eight words or more that says why. */
export function expectSpecificAcknowledgements(scope: IConstruct): void {
  const acknowledgements = acknowledgementsIn(scope);
  expect(acknowledgements.length).toBeGreaterThan(0);
  for (const { construct, id, reason } of acknowledgements) {
    expect({ [`${id} on a stack`]: Stack.isStack(construct) }).toEqual({ [`${id} on a stack`]: false });
    expect({ [`${id} at ${construct.node.path}`]: reason }).toEqual({
      [`${id} at ${construct.node.path}`]: expect.stringMatching(/^\S+(\s+\S+){7,}/),
    });
    expect(reason).not.toMatch(/^(ok|fine|n\/?a|todo|suppress|ignore)/i);
  }
}
