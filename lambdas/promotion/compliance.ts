/**
 * Compliance policies for the sign-off step of an approval workflow. Each policy is a pure check over the evidence
 * the step gathers; the sign-off records the evidence and every finding in the audit record.
 *
 * - `tests-passed`: the environment's test steps ran in this workflow and none failed.
 * - `separation-of-duties`: a person approved the revision manually, and that person authored and pushed none of its
 *   commits (the same check as the approval link's, `ownChangeIn`).
 * - `change-recorded`: the revision traces back to commits, a build and an artifact (nothing deployed from nowhere).
 * - `change-management`: tests passed and change recorded (for environments without a manual step).
 * - `standard`: all three.
 */
import type { CompliancePolicy } from '../core/config/schema';
import type { Revision } from '../core/model';
import { describeOwnChange, ownChangeIn } from './self-approval';

export interface ComplianceEvidence {
  readonly environment: string;
  readonly revision: Revision;
  /** Test steps configured for the environment. */
  readonly configuredTests: number;
  /** Results this workflow recorded for the environment, if any. */
  readonly testResults?: { readonly passed: number; readonly failed: number };
  /** Who approved in this workflow's manual step, if it had one. */
  readonly approver?: string;
}

export interface ComplianceFinding {
  readonly rule: string;
  readonly passed: boolean;
  readonly message: string;
}

type Rule = (evidence: ComplianceEvidence) => ComplianceFinding;

const testsPassed: Rule = ({ revision, environment, configuredTests, testResults }) => {
  if (configuredTests === 0) {
    return {
      rule: 'tests-passed',
      passed: false,
      message: `${environment} has no test steps, so there is no test evidence`,
    };
  }
  if (!testResults)
    return {
      rule: 'tests-passed',
      passed: false,
      message: `no test results recorded for revision ${revision.number} in ${environment}`,
    };
  return testResults.failed === 0 && testResults.passed >= configuredTests
    ? { rule: 'tests-passed', passed: true, message: `${testResults.passed} of ${configuredTests} test steps passed` }
    : {
        rule: 'tests-passed',
        passed: false,
        message: `${testResults.failed} test steps failed, ${testResults.passed} passed`,
      };
};

const separationOfDuties: Rule = ({ revision, approver }) => {
  if (!approver) {
    return {
      rule: 'separation-of-duties',
      passed: false,
      message: 'no manual approval in this workflow: add approval.manual to the environment',
    };
  }
  const own = ownChangeIn(revision, approver);
  return own
    ? {
        rule: 'separation-of-duties',
        passed: false,
        message: `${approver} approved a revision they ${describeOwnChange(own)} in`,
      }
    : {
        rule: 'separation-of-duties',
        passed: true,
        message: `approved by ${approver}, who authored and pushed none of the ${revision.commits.length} commits`,
      };
};

const changeRecorded: Rule = ({ revision }) => {
  const missing = [
    revision.commits.length === 0 ? 'commits' : undefined,
    revision.buildId ? undefined : 'build id',
    revision.artifact ? undefined : 'artifact',
  ].filter((m): m is string => m !== undefined);
  return missing.length === 0
    ? {
        rule: 'change-recorded',
        passed: true,
        message: `${revision.commits.length} commits, build ${revision.buildId}, artifact ${revision.artifact}`,
      }
    : { rule: 'change-recorded', passed: false, message: `revision ${revision.number} has no ${missing.join(', ')}` };
};

/** The rules of each policy. The policy names themselves are part of the pipeline schema, so a definition naming an
 * unknown policy is refused by `lockstep validate` and at synth, never at run time. */
const POLICY_RULES: Readonly<Record<CompliancePolicy, readonly Rule[]>> = {
  'tests-passed': [testsPassed],
  'separation-of-duties': [separationOfDuties],
  'change-recorded': [changeRecorded],
  'change-management': [testsPassed, changeRecorded],
  standard: [testsPassed, separationOfDuties, changeRecorded],
};

/** Runs a policy; undefined when the name is not a policy (a definition that skipped validation). */
export function evaluatePolicy(
  policy: string,
  evidence: ComplianceEvidence,
): { passed: boolean; findings: ComplianceFinding[] } | undefined {
  const rules = Object.hasOwn(POLICY_RULES, policy) ? POLICY_RULES[policy as CompliancePolicy] : undefined;
  if (!rules) return undefined;
  const findings = rules.map((rule) => rule(evidence));
  return { passed: findings.every((f) => f.passed), findings };
}
