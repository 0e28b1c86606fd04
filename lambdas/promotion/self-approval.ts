/**
 * Nobody approves their own change: whether a person authored or pushed a commit of a revision. The approval link,
 * the console's approve, the approval page's note and the `separation-of-duties` compliance rule all ask this one
 * function, so they never disagree about who may approve.
 *
 * People are compared as approvers are named: emails, trimmed, case-insensitive. A revision recorded before pushers
 * were has no `pushedBy` on its commits; it is then judged by its authors alone.
 */
import type { Revision } from '../core/model';

/** Why a person may not approve a revision: the first commit they authored or pushed. */
export interface OwnChange {
  /** `pushed` when they pushed it (whoever authored it), `authored` when they only authored it. */
  readonly role: 'authored' | 'pushed';
  /** The commit's short id (12 characters); absent when only the revision's author list names them. */
  readonly commit?: string;
}

const normalise = (person: string) => person.trim().toLowerCase();

/**
 * The commit of `revision` that `person` pushed, else one they authored; undefined when neither (or no revision).
 * A pusher is named first: it is the stronger claim (they put the change into the branch), and the message says it.
 *
 * @example
 * ownChangeIn(revision, 'ann@example.com'); // { role: 'pushed', commit: 'abc1234def56' }
 */
export function ownChangeIn(revision: Revision | undefined, person: string): OwnChange | undefined {
  if (!revision) return undefined;
  const who = normalise(person);
  const pushed = revision.commits.find((c) => c.pushedBy !== undefined && normalise(c.pushedBy) === who);
  if (pushed) return { role: 'pushed', commit: pushed.id.slice(0, 12) };
  const authored = revision.commits.find((c) => normalise(c.author) === who);
  if (authored) return { role: 'authored', commit: authored.id.slice(0, 12) };
  if (revision.authors.some((a) => normalise(a) === who)) return { role: 'authored' };
  return undefined;
}

/** "pushed commit abc1234def56", "authored commit ...", or "authored a commit": what `ownChangeIn` found, in words. */
export function describeOwnChange(change: OwnChange): string {
  return change.commit ? `${change.role} commit ${change.commit}` : `${change.role} a commit`;
}
