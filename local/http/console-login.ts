/**
 * Local mode's sign-in to the web console, in the manner of Jupyter: `npm start` prints a console URL holding a
 * one-time login token; the browser (`console/auth.js`) exchanges it once at `POST /console/auth/local-token` for a
 * bearer token, and the front door verifies that bearer on every console route registered with this authorizer,
 * handing the handler the same claims Cognito's ID token gives API Gateway on AWS. The console handler therefore
 * runs one code path (`identityFromEvent`, `authorize`) in both places.
 *
 * Tokens live in memory only: a restart prints a new URL and ends every session. Only SHA-256 digests of the
 * tokens are kept, so a heap dump holds nothing to sign in with.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CONSOLE_GROUPS, type ConsoleGroup } from '../../lambdas/console/auth';
import type { Pipeline } from '../../lambdas/core/config/schema';
import { LocalConfigurationError } from '../errors';
import type { HttpFrontDoor, LocalRouteAuthorizer } from './front-door';

export interface LocalConsoleUser {
  /** An email address to approve as the pipeline's approvers are named; any other name can read and operate. */
  readonly user: string;
  readonly groups: readonly ConsoleGroup[];
}

export interface LocalConsoleLoginOptions extends LocalConsoleUser {
  /** @default Date.now */
  readonly clock?: () => number;
  /** How long a bearer token is accepted. @default 12 hours */
  readonly sessionMs?: number;
}

interface Session extends LocalConsoleUser {
  readonly expiresAt: number;
}

/** Where `console/auth.js` trades the one-time token from the console URL for a bearer token. */
export const LOCAL_TOKEN_PATH = '/console/auth/local-token';

/** The claims' issuer and audience: not Cognito's, so a local token cannot be mistaken for an AWS one. */
const LOCAL_ISSUER = 'lockstep-local';

export class LocalConsoleLogin implements LocalRouteAuthorizer {
  private readonly clock: () => number;
  private readonly sessionMs: number;
  private readonly loginTokens = new Map<string, LocalConsoleUser>();
  private readonly sessions = new Map<string, Session>();
  /** The one-time token printed at start, for the configured user. */
  readonly loginToken: string;

  constructor(private readonly options: LocalConsoleLoginOptions) {
    this.clock = options.clock ?? Date.now;
    this.sessionMs = options.sessionMs ?? 12 * 60 * 60 * 1000;
    this.loginToken = this.issueLoginToken(options);
  }

  /** The user the printed URL signs in. */
  get user(): LocalConsoleUser {
    return { user: this.options.user, groups: this.options.groups };
  }

  /**
   * A further one-time login token, e.g. for a second user in a test (`viewer@example.com` with `['viewers']`).
   * Each one signs in once.
   */
  issueLoginToken(user: LocalConsoleUser): string {
    const token = newToken();
    this.loginTokens.set(digest(token), { user: user.user, groups: [...user.groups] });
    return token;
  }

  /** `<baseUrl>/console?login=<token>`: the URL `npm start` prints. */
  consoleUrl(baseUrl: string, token = this.loginToken): string {
    return `${baseUrl}/console?login=${encodeURIComponent(token)}`;
  }

  /** Trades a one-time login token for a bearer token; undefined when the token is unknown or was used. */
  exchange(loginToken: string): { accessToken: string; expiresInSeconds: number; user: LocalConsoleUser } | undefined {
    const key = digest(loginToken);
    const user = this.loginTokens.get(key);
    if (!user) return undefined;
    this.loginTokens.delete(key);
    const accessToken = newToken();
    this.sessions.set(digest(accessToken), { ...user, expiresAt: this.clock() + this.sessionMs });
    return { accessToken, expiresInSeconds: Math.floor(this.sessionMs / 1000), user };
  }

  /** The JWT authorizer's job, locally: the claims of a live bearer token, as API Gateway passes them on. */
  verify(authorization: string | undefined): Readonly<Record<string, string>> | undefined {
    const match = /^Bearer ([A-Za-z0-9_-]{20,})$/.exec(authorization?.trim() ?? '');
    if (!match) return undefined;
    const key = digest(match[1]!);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (session.expiresAt <= this.clock()) {
      this.sessions.delete(key);
      return undefined;
    }
    return claimsOf(session, this.sessionMs);
  }

  /** The exchange route, `POST /console/auth/local-token` with `{"token": "..."}`; public, as Cognito's is. */
  readonly exchangeHandler = (event: APIGatewayProxyEventV2): APIGatewayProxyStructuredResultV2 => {
    const token = tokenOf(event);
    const exchanged = token === undefined ? undefined : this.exchange(token);
    if (!exchanged) {
      return json(401, {
        message:
          'This login link was used already or is not from this run of npm start: open the console URL that npm start printed last (each works once)',
      });
    }
    return json(200, {
      access_token: exchanged.accessToken,
      token_type: 'Bearer',
      expires_in: exchanged.expiresInSeconds,
      user: exchanged.user.user,
      groups: exchanged.user.groups,
    });
  };
}

/** Registers the token exchange on the front door. Console routes then pass `{ authorizer: login }` themselves. */
export function registerLocalConsoleLogin(http: HttpFrontDoor, login: LocalConsoleLogin): void {
  http.registerRoute('POST', LOCAL_TOKEN_PATH, login.exchangeHandler);
}

/**
 * The local console user from `--console-user` and `--console-groups`: by default the first approver the pipeline
 * names (so approving from the console works out of the box) in all three groups, since whoever holds the printed
 * URL owns the local system anyway.
 */
export function localConsoleUser(pipeline: Pipeline, user?: string, groups?: string): LocalConsoleUser {
  const chosenUser = user?.trim() || firstApprover(pipeline) || 'local-user';
  if (/\s/.test(chosenUser))
    throw new LocalConfigurationError(`--console-user "${chosenUser}": use a name or email without spaces`);
  if (groups === undefined) return { user: chosenUser, groups: [...CONSOLE_GROUPS] };
  const names = groups
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const unknown = names.filter((g) => !(CONSOLE_GROUPS as readonly string[]).includes(g));
  if (unknown.length > 0 || names.length === 0) {
    throw new LocalConfigurationError(
      `--console-groups "${groups}": ${unknown.length > 0 ? `unknown ${unknown.join(', ')}; ` : ''}give a comma list of ${CONSOLE_GROUPS.join(', ')}`,
    );
  }
  return { user: chosenUser, groups: CONSOLE_GROUPS.filter((g) => names.includes(g)) };
}

function firstApprover(pipeline: Pipeline): string | undefined {
  for (const stage of pipeline.stages)
    for (const environment of stage.environments) {
      const approver = environment.approval?.manual?.approvers[0];
      if (approver) return approver;
    }
  return pipeline.promotions.flatMap((p) => p.approvers ?? [])[0];
}

/**
 * Claims shaped as API Gateway hands a Cognito ID token's claims to the integration: every value a string, and
 * `cognito:groups` flattened to `[a b]`.
 */
function claimsOf(session: Session, sessionMs: number): Record<string, string> {
  const expiresAt = Math.floor(session.expiresAt / 1000);
  return {
    iss: LOCAL_ISSUER,
    aud: LOCAL_ISSUER,
    token_use: 'id',
    sub: createHash('sha256').update(session.user).digest('hex').slice(0, 32),
    'cognito:username': session.user,
    ...(session.user.includes('@') ? { email: session.user } : {}),
    'cognito:groups': `[${session.groups.join(' ')}]`,
    iat: String(expiresAt - Math.floor(sessionMs / 1000)),
    exp: String(expiresAt),
  };
}

function tokenOf(event: APIGatewayProxyEventV2): string | undefined {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    const parsed: unknown = JSON.parse(text);
    const token = (parsed as { token?: unknown } | null)?.token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    // Not JSON: answered as an unknown token, like any other bad login.
    return undefined;
  }
}

const newToken = () => randomBytes(32).toString('base64url');
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}
