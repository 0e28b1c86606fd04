import { SdkError } from '../model';

/** Base of package-host errors (index, access policy, signing). */
export class HostError extends SdkError {}

/** The access policy file is invalid; `problems` lists every problem with its path and the fix. */
export class AccessPolicyError extends HostError {
  constructor(readonly problems: readonly string[]) {
    super(
      `The access policy has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n- ${problems.join('\n- ')}`,
      {
        details: { problems },
      },
    );
  }
}

/** A signed URL cannot be issued as asked (bad key, a condition CloudFront cannot enforce). */
export class SigningError extends HostError {}
