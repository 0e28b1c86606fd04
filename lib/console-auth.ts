/**
 * Who may open the web console on AWS: a Cognito user pool with the managed login pages, the console's three
 * groups, a public app client (authorization code + PKCE, no secret: a browser cannot keep one) and the HTTP API
 * JWT authorizer that guards every console data and action route.
 *
 * `buildConsoleAuth` is called by the construct that adds the console routes; it also makes synth fail when any
 * `/console/api/*` route of the API lacks a JWT authorizer, so a route added later cannot be public by accident.
 */
import { Aws, Duration, Fn, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { CONSOLE_GROUPS, GROUP_RIGHTS, type ConsoleGroup } from '../lambdas/console/auth';
import { LockstepError } from '../lambdas/core/errors';
import { acknowledge } from './nag';

/** A user pool you already run, to sign in to the console with instead of a new one (`consoleUserPool`). */
export interface ExistingConsoleUserPool {
  /** The pool. The console adds its own app client to it. */
  readonly userPool: cognito.IUserPool;
  /**
   * Base URL of the pool's login pages (its Cognito prefix domain or custom domain), e.g.
   * `https://login.example.com`. A pool has at most one domain, so the console uses the one it has.
   * @default - a new prefix domain with managed login on the pool (only for a pool that has no domain yet)
   */
  readonly loginBaseUrl?: string;
  /**
   * Create the groups `viewers`, `operators` and `approvers` in the pool. Turn it off when the pool has them already
   * (CloudFormation refuses to create a group that exists).
   * @default true
   */
  readonly createGroups?: boolean;
}

export interface ConsoleAuthProps {
  /** The pipeline's name: names the pool, the client and the default login domain. */
  readonly pipelineName: string;
  /** The HTTP API that serves the console (`<apiEndpoint>/console` is the login callback). */
  readonly httpApi: apigwv2.IHttpApi;
  /** @default - a new user pool with managed login, MFA required, no self sign-up */
  readonly existingUserPool?: ExistingConsoleUserPool;
  /**
   * Further URLs the console is served from (a custom domain in front of the API), each ending in `/console`.
   * @default - only `<apiEndpoint>/console`
   */
  readonly extraCallbackUrls?: readonly string[];
  /**
   * Prefix of the new login domain (`<prefix>.auth.<region>.amazoncognito.com`): lowercase letters, digits and
   * hyphens, unique in the region across all AWS accounts.
   * @default - `lockstep-<pipeline>-<hash of the construct path>-<account id>`
   */
  readonly domainPrefix?: string;
  /** @default RemovalPolicy.RETAIN (a deleted pool takes its users with it) */
  readonly removalPolicy?: RemovalPolicy;
}

export interface ConsoleAuth {
  readonly userPool: cognito.IUserPool;
  readonly client: cognito.UserPoolClient;
  /** The login domain created here; undefined when an existing pool brought its own (`loginBaseUrl`). */
  readonly domain?: cognito.UserPoolDomain;
  /** `https://...`: where `/oauth2/authorize`, `/oauth2/token` and `/logout` live. */
  readonly loginBaseUrl: string;
  /** The JWT authorizer for every console data and action route (`authorizer` of `addRoutes`). */
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** The groups created here, by name (empty when an existing pool has them). */
  readonly groups: Readonly<Partial<Record<ConsoleGroup, cognito.UserPoolGroup>>>;
  /** The console function's login variables, which `clientConfigFromEnv` turns into `/console/config.json`. */
  readonly environment: Readonly<Record<string, string>>;
}

/** A prop of the console's sign-in that cannot work, with what to change. */
export class ConsoleAuthPropsError extends LockstepError {}

/** Route keys of the console's data and action API; each one needs the JWT authorizer. */
export const CONSOLE_API_ROUTE = /^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/console\/api(\/|$)/;

const GROUP_DESCRIPTIONS: Readonly<Record<ConsoleGroup, string>> = {
  viewers: 'Lockstep console: may read',
  operators: 'Lockstep console: may read, switch, pin and roll back',
  approvers: 'Lockstep console: may read and approve where the pipeline names them',
};

/**
 * The console's sign-in pieces in `scope` (construct ids `ConsoleUserPool`, `ConsoleClient`, `ConsoleLoginDomain`,
 * `ConsoleGroup<name>`, `ConsoleAuthorizer`).
 *
 * @example
 * const auth = buildConsoleAuth(this, { pipelineName: 'shop', httpApi: this.httpApi });
 * this.httpApi.addRoutes({ path: '/console/api/{proxy+}', methods: [apigwv2.HttpMethod.ANY],
 *   integration, authorizer: auth.authorizer });
 */
export function buildConsoleAuth(scope: Construct, props: ConsoleAuthProps): ConsoleAuth {
  checkProps(props);
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  const existing = props.existingUserPool;
  const userPool = existing?.userPool ?? buildUserPool(scope, props.pipelineName, removalPolicy);
  const consoleUrl = `${props.httpApi.apiEndpoint}/console`;
  const callbackUrls = [consoleUrl, ...(props.extraCallbackUrls ?? [])];
  const client = buildAppClient(scope, userPool, props.pipelineName, callbackUrls);
  const domain =
    existing?.loginBaseUrl === undefined
      ? buildLoginDomain(scope, userPool, props.domainPrefix ?? defaultDomainPrefix(scope, props.pipelineName))
      : undefined;
  const loginBaseUrl = domain ? domain.baseUrl() : existing!.loginBaseUrl!;
  // Managed login draws its pages from a branding style per client; Cognito's own style is enough here.
  new cognito.CfnManagedLoginBranding(scope, 'ConsoleLoginBranding', {
    userPoolId: userPool.userPoolId,
    clientId: client.userPoolClientId,
    useCognitoProvidedValues: true,
  }).node.addDependency(...(domain ? [domain] : []), client);
  const groups = existing?.createGroups === false ? {} : buildGroups(scope, userPool);
  const authorizer = new HttpUserPoolAuthorizer('ConsoleAuthorizer', userPool, {
    userPoolClients: [client],
    authorizerName: `lockstep-${props.pipelineName}-console`,
  });
  requireAuthorizerOnConsoleRoutes(props.httpApi);
  return {
    userPool,
    client,
    ...(domain ? { domain } : {}),
    loginBaseUrl,
    authorizer,
    groups,
    environment: {
      LOCKSTEP_CONSOLE_LOGIN: 'cognito',
      LOCKSTEP_CONSOLE_COGNITO_DOMAIN: loginBaseUrl,
      LOCKSTEP_CONSOLE_CLIENT_ID: client.userPoolClientId,
      LOCKSTEP_CONSOLE_REDIRECT_URI: consoleUrl,
    },
  };
}

function checkProps(props: ConsoleAuthProps): void {
  const problems: string[] = [];
  const prefix = props.domainPrefix;
  if (prefix !== undefined && !Token.isUnresolved(prefix)) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix))
      problems.push(`domainPrefix "${prefix}": use 1 to 63 lowercase letters, digits and inner hyphens`);
    if (/aws|amazon|cognito/.test(prefix))
      problems.push(`domainPrefix "${prefix}": Cognito refuses prefixes containing aws, amazon or cognito`);
  }
  if (prefix !== undefined && props.existingUserPool?.loginBaseUrl !== undefined)
    problems.push('domainPrefix is for a new login domain: drop it, or drop existingUserPool.loginBaseUrl');
  const loginBaseUrl = props.existingUserPool?.loginBaseUrl;
  if (loginBaseUrl !== undefined && !Token.isUnresolved(loginBaseUrl) && !/^https:\/\/[^/]+$/.test(loginBaseUrl))
    problems.push(`existingUserPool.loginBaseUrl "${loginBaseUrl}": give https://<host> without a path`);
  for (const url of props.extraCallbackUrls ?? []) {
    if (Token.isUnresolved(url)) continue;
    if (!/^https:\/\/[^/]+(\/.*)?\/console$/.test(url))
      problems.push(`extraCallbackUrls "${url}": give an https URL ending in /console`);
  }
  if (problems.length > 0)
    throw new ConsoleAuthPropsError(`The console's sign-in props are invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
}

function buildUserPool(scope: Construct, pipelineName: string, removalPolicy: RemovalPolicy): cognito.UserPool {
  const pool = new cognito.UserPool(scope, 'ConsoleUserPool', {
    userPoolName: `lockstep-${pipelineName}-console`,
    // Managed login (the newer hosted pages) needs the Essentials plan or above.
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    // People who may deploy to production are added by an administrator, never by themselves.
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    signInCaseSensitive: false,
    standardAttributes: { email: { required: true, mutable: true } },
    autoVerify: { email: true },
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    passwordPolicy: {
      minLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
    removalPolicy,
  });
  acknowledge(pool, {
    id: 'AwsSolutions-COG8',
    reason:
      'The Plus plan bills every monthly user with no free tier; this pool admits only users an administrator created, requires TOTP MFA and 12-character passwords, and a Plus pool can be passed as consoleUserPool',
  });
  return pool;
}

function buildAppClient(
  scope: Construct,
  userPool: cognito.IUserPool,
  pipelineName: string,
  callbackUrls: readonly string[],
): cognito.UserPoolClient {
  return new cognito.UserPoolClient(scope, 'ConsoleClient', {
    userPool,
    userPoolClientName: `lockstep-${pipelineName}-console`,
    // A public client: the console runs in the browser, where no secret stays secret. PKCE binds each code to the
    // browser that asked for it (console/auth.js always sends an S256 challenge).
    generateSecret: false,
    authFlows: { userSrp: true },
    oAuth: {
      flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
      scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
      callbackUrls: [...callbackUrls],
      logoutUrls: [...callbackUrls],
    },
    supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
    // A work session: the browser keeps no refresh token (console/auth.js), and managed login's own session
    // cookie signs the user back in quickly when the hour is up.
    idTokenValidity: Duration.hours(1),
    accessTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.hours(1),
  });
}

function buildLoginDomain(scope: Construct, userPool: cognito.IUserPool, domainPrefix: string): cognito.UserPoolDomain {
  return new cognito.UserPoolDomain(scope, 'ConsoleLoginDomain', {
    userPool,
    cognitoDomain: { domainPrefix },
    managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
  });
}

function buildGroups(scope: Construct, userPool: cognito.IUserPool): Record<ConsoleGroup, cognito.UserPoolGroup> {
  const entries = CONSOLE_GROUPS.map((group, index) => {
    const built = new cognito.UserPoolGroup(scope, `ConsoleGroup${group[0]!.toUpperCase()}${group.slice(1)}`, {
      userPool,
      groupName: group,
      description: `${GROUP_DESCRIPTIONS[group]} (${GROUP_RIGHTS[group].join(', ')})`,
      precedence: CONSOLE_GROUPS.length - index,
    });
    return [group, built] as const;
  });
  return Object.fromEntries(entries) as Record<ConsoleGroup, cognito.UserPoolGroup>;
}

/**
 * `lockstep-<pipeline>-<hash>-<account>`: prefix domains are global per region across all accounts, so the account
 * id keeps two customers apart and the hash of the construct path two stacks of one account. Words Cognito
 * refuses in a prefix are taken out of the pipeline name.
 */
function defaultDomainPrefix(scope: Construct, pipelineName: string): string {
  const name =
    pipelineName
      .toLowerCase()
      .replace(/aws|amazon|cognito/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24)
      .replace(/-+$/, '') || 'console';
  const hash = createHash('sha256').update(Names.uniqueId(scope)).digest('hex').slice(0, 8);
  return Fn.join('-', ['lockstep', name, hash, Aws.ACCOUNT_ID]);
}

/**
 * Fails synth when a console data or action route of `httpApi` has no JWT authorizer (or a `$default` route has
 * none, since it would answer `/console/api/*` paths that no route names).
 */
export function requireAuthorizerOnConsoleRoutes(httpApi: apigwv2.IHttpApi): void {
  const api = httpApi as unknown as Construct;
  if (api.node.metadata.some((entry) => entry.type === CONSOLE_ROUTES_CHECKED)) return;
  api.node.addMetadata(CONSOLE_ROUTES_CHECKED, true);
  api.node.addValidation({
    validate: () =>
      consoleRoutesWithoutAuthorizer(Stack.of(api), httpApi).map(
        (routeKey) =>
          `Route "${routeKey}" serves console data or actions without the console's JWT authorizer: pass ` +
          '`authorizer: buildConsoleAuth(...).authorizer` to addRoutes',
      ),
  });
}

const CONSOLE_ROUTES_CHECKED = 'lockstep:console-routes-checked';

/** Route keys of `httpApi` in `stack` that reach the console API without a JWT authorizer. */
export function consoleRoutesWithoutAuthorizer(stack: Stack, httpApi: apigwv2.IHttpApi): string[] {
  const apiId = stack.resolve(httpApi.apiId) as unknown;
  return stack.node
    .findAll()
    .filter((c): c is apigwv2.CfnRoute => c instanceof apigwv2.CfnRoute)
    .filter((route) => JSON.stringify(stack.resolve(route.apiId)) === JSON.stringify(apiId))
    .filter((route) => CONSOLE_API_ROUTE.test(route.routeKey) || route.routeKey === '$default')
    .filter((route) => route.authorizationType !== 'JWT' || route.authorizerId === undefined)
    .map((route) => route.routeKey);
}
