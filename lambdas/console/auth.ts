/**
 * Who may do what in the web console.
 *
 * The console never checks a token itself: on AWS the HTTP API's JWT authorizer verifies the Cognito token before
 * the Lambda runs, and locally the front door emulates that authorizer. Both leave the verified claims in
 * `requestContext.authorizer.jwt.claims`, so this module is the one code path that turns claims into an identity
 * and decides, by group, what that identity may do.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { EventStore } from '../ports/stores';
import { ForbiddenError, UnauthenticatedError } from './errors';

export type ConsoleGroup = 'viewers' | 'operators' | 'approvers';
export type ConsoleAction = 'read' | 'switch' | 'pin' | 'rollback' | 'approve';

export interface ConsoleIdentity {
  readonly user: string;
  readonly groups: readonly ConsoleGroup[];
  readonly sourceIp?: string;
}

/** The console's groups, in the order their rights grow. */
export const CONSOLE_GROUPS: readonly ConsoleGroup[] = ['viewers', 'operators', 'approvers'];

/**
 * The rights of each group. Every group reads; `operators` also switch, pin and roll back; `approvers` also
 * approve (where the pipeline names them: that check belongs to the approval code, which knows the request).
 */
export const GROUP_RIGHTS: Readonly<Record<ConsoleGroup, readonly ConsoleAction[]>> = {
  viewers: ['read'],
  operators: ['read', 'switch', 'pin', 'rollback'],
  approvers: ['read', 'approve'],
};

type JwtClaims = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/**
 * Reads the identity from an HTTP API v2 event's `requestContext.authorizer.jwt.claims` (Cognito: `cognito:groups`,
 * `email`/`username`). Throws UnauthenticatedError when absent.
 *
 * The user is the `email` claim when there is one (approvers are named by email in the pipeline file), else
 * `username`, `cognito:username`, then `sub`. Groups other than the console's three are ignored, so a shared
 * user pool may carry groups of its own.
 *
 * @example
 * identityFromEvent(event); // { user: 'alice@example.com', groups: ['operators'], sourceIp: '203.0.113.7' }
 */
export function identityFromEvent(
  event: APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2,
): ConsoleIdentity {
  const claims = claimsOf(event);
  if (claims === undefined) {
    throw new UnauthenticatedError(
      'This console route needs a signed-in user: log in and send the token as "Authorization: Bearer <token>"',
    );
  }
  const user = firstText(claims, ['email', 'username', 'cognito:username', 'sub']);
  if (user === undefined) {
    throw new UnauthenticatedError(
      'The token names no user (no email, username or sub claim): log in again through the console',
    );
  }
  const sourceIp = event.requestContext.http.sourceIp;
  return {
    user,
    groups: consoleGroups(claims['cognito:groups']),
    ...(sourceIp ? { sourceIp } : {}),
  };
}

/** Throws ForbiddenError (typed, in lambdas/console/errors.ts) when `identity` may not do `action`. */
export function authorize(identity: ConsoleIdentity, action: ConsoleAction): void {
  if (isAllowed(identity, action)) return;
  const allowedBy = CONSOLE_GROUPS.filter((group) => GROUP_RIGHTS[group].includes(action));
  const held = identity.groups.length === 0 ? 'no console group' : `groups ${identity.groups.join(', ')}`;
  throw new ForbiddenError(
    `${identity.user} (${held}) may not ${action}: ask an administrator to add you to ${allowedBy.join(' or ')}`,
    { details: { user: identity.user, action, groups: identity.groups } },
  );
}

/** What a refused request aimed at, for the audit entry (whatever the route named). */
export interface DeniedTarget {
  /** The request, e.g. `POST /console/api/environments/prod-na/rollback`. */
  readonly route?: string;
  readonly environment?: string;
  readonly application?: string;
  readonly revision?: number;
}

export interface ConsoleAuditDependencies {
  readonly events: EventStore;
  readonly clock: () => number;
}

/** The timeline type of a refused console request; the audit log lists it with every other operator action. */
export const CONSOLE_REQUEST_DENIED = 'console-request-denied';

/**
 * Records that `identity` was refused `action`: who, what, when and from where, in the pipeline's timeline (and the
 * environment's, when the request named one), so the audit log shows attempts beyond a group's rights.
 */
export async function auditDenied(
  deps: ConsoleAuditDependencies,
  identity: ConsoleIdentity,
  action: ConsoleAction,
  target: DeniedTarget = {},
): Promise<void> {
  const groups = identity.groups.length === 0 ? 'no console group' : identity.groups.join(', ');
  const what = target.route ?? action;
  const from = identity.sourceIp ? ` from ${identity.sourceIp}` : '';
  await deps.events.append({
    at: deps.clock(),
    type: CONSOLE_REQUEST_DENIED,
    actor: identity.user,
    message: `${identity.user} (${groups}) was refused ${action}${from}: ${what}`,
    ...(target.environment !== undefined ? { environment: target.environment } : {}),
    ...(target.application !== undefined ? { application: target.application } : {}),
    ...(target.revision !== undefined ? { revision: target.revision } : {}),
    details: {
      action,
      groups: [...identity.groups],
      via: 'console',
      ...(identity.sourceIp ? { sourceIp: identity.sourceIp } : {}),
      ...(target.route ? { route: target.route } : {}),
    },
  });
}

/**
 * `authorize()` for a handler: a refused request is audited (`auditDenied`) before the ForbiddenError (403)
 * reaches the client. Call it first in every action route, with what the route names.
 *
 * @example
 * await authorizeAudited(deps, identityFromEvent(event), 'rollback', { route: event.routeKey, environment });
 */
export async function authorizeAudited(
  deps: ConsoleAuditDependencies,
  identity: ConsoleIdentity,
  action: ConsoleAction,
  target: DeniedTarget = {},
): Promise<void> {
  try {
    authorize(identity, action);
  } catch (error) {
    if (error instanceof ForbiddenError) await auditDenied(deps, identity, action, target);
    throw error;
  }
}

/** Whether any of the identity's groups grants the action. */
export function isAllowed(identity: ConsoleIdentity, action: ConsoleAction): boolean {
  return identity.groups.some((group) => GROUP_RIGHTS[group].includes(action));
}

function claimsOf(event: APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2): JwtClaims | undefined {
  // The plain v2 event type has no authorizer, but a route behind one still carries it at run time.
  const context = event.requestContext;
  const claims: JwtClaims | undefined = 'authorizer' in context ? context.authorizer?.jwt?.claims : undefined;
  return claims !== undefined && Object.keys(claims).length > 0 ? claims : undefined;
}

function firstText(claims: JwtClaims, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = claims[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * The console groups in a `cognito:groups` claim. A JWT carries it as an array, but API Gateway's HTTP API hands
 * array claims to the integration flattened into one string, `"[operators approvers]"`; a comma list or a JSON
 * array is read too, so local mode and tests may pass either.
 */
export function consoleGroups(claim: unknown): ConsoleGroup[] {
  const names = groupNames(claim);
  return CONSOLE_GROUPS.filter((group) => names.includes(group));
}

function groupNames(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((name): name is string => typeof name === 'string');
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  if (text.startsWith('[') && text.includes('"')) {
    try {
      return groupNames(JSON.parse(text));
    } catch {
      // Not JSON after all: fall through to the API Gateway form, which is also bracketed.
    }
  }
  return text
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter((name) => name !== '');
}
