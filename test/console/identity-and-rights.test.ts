/**
 * `lambdas/console/auth.ts`: the identity read from the JWT authorizer's claims (as API Gateway hands them over),
 * the groups' rights, and the audit entry of a refused request.
 */
import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import {
  auditDenied,
  authorize,
  authorizeAudited,
  consoleGroups,
  identityFromEvent,
  type ConsoleAction,
  type ConsoleGroup,
} from '../../lambdas/console/auth';
import { ForbiddenError, UnauthenticatedError } from '../../lambdas/console/errors';
import type { EventStore, PipelineEvent } from '../../lambdas/ports/stores';

function eventWith(claims: Record<string, string | string[]> | undefined): APIGatewayProxyEventV2WithJWTAuthorizer {
  const base = {
    version: '2.0',
    routeKey: 'POST /console/api/environments/{environment}/rollback',
    rawPath: '/console/api/environments/prod-na/rollback',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '111122223333',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: 'POST',
        path: '/console/api/environments/prod-na/rollback',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'test',
      },
      requestId: 'r',
      routeKey: 'POST /console/api/environments/{environment}/rollback',
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(claims ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: null } } } : {}),
    },
  };
  return base as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** Claims as the HTTP API passes a Cognito ID token's on: array claims flattened to `[a b]`. */
const cognitoClaims = (groups: string, extra: Record<string, string> = {}) => ({
  sub: '6f1c2d3e-0000-4000-8000-000000000001',
  'cognito:username': '6f1c2d3e-0000-4000-8000-000000000001',
  email: 'alice@example.com',
  'cognito:groups': groups,
  token_use: 'id',
  ...extra,
});

describe('identityFromEvent', () => {
  it('reads the user by email, the console groups from the flattened claim, and the source address', () => {
    expect(identityFromEvent(eventWith(cognitoClaims('[operators approvers]')))).toEqual({
      user: 'alice@example.com',
      groups: ['operators', 'approvers'],
      sourceIp: '203.0.113.7',
    });
  });

  it('falls back to username (an access token) and ignores groups that are not the console’s', () => {
    const claims = { sub: 'abc', username: 'bob', 'cognito:groups': '[admins viewers]', token_use: 'access' };
    expect(identityFromEvent(eventWith(claims))).toMatchObject({ user: 'bob', groups: ['viewers'] });
  });

  it('refuses a request without claims with 401 and says how to sign in', () => {
    const plain = eventWith(undefined) as unknown as APIGatewayProxyEventV2;
    expect(() => identityFromEvent(plain)).toThrow(UnauthenticatedError);
    expect(() => identityFromEvent(plain)).toThrow(/log in and send the token as "Authorization: Bearer <token>"/);
    try {
      identityFromEvent(plain);
    } catch (error) {
      expect((error as UnauthenticatedError).statusCode).toBe(401);
    }
  });

  it('refuses claims that name nobody', () => {
    expect(() => identityFromEvent(eventWith({ 'cognito:groups': '[operators]', token_use: 'id' }))).toThrow(
      /names no user/,
    );
  });

  it('reads a user without groups as one with no rights, not as an error', () => {
    const claims = { email: 'carol@example.com' };
    expect(identityFromEvent(eventWith(claims)).groups).toEqual([]);
  });
});

describe('consoleGroups', () => {
  it.each([
    [
      ['approvers', 'viewers'],
      ['viewers', 'approvers'],
    ],
    ['[operators]', ['operators']],
    ['[]', []],
    ['viewers,operators', ['viewers', 'operators']],
    ['["approvers","admins"]', ['approvers']],
    ['[viewers-old operatorsx]', []],
    [undefined, []],
    [42, []],
  ])('reads %j as %j', (claim, groups) => {
    expect(consoleGroups(claim)).toEqual(groups);
  });
});

describe('authorize: the groups’ rights', () => {
  const table: Record<ConsoleGroup, Record<ConsoleAction, boolean>> = {
    viewers: { read: true, switch: false, pin: false, rollback: false, approve: false },
    operators: { read: true, switch: true, pin: true, rollback: true, approve: false },
    approvers: { read: true, switch: false, pin: false, rollback: false, approve: true },
  };
  for (const [group, rights] of Object.entries(table) as [ConsoleGroup, Record<ConsoleAction, boolean>][]) {
    for (const [action, allowed] of Object.entries(rights) as [ConsoleAction, boolean][]) {
      it(`${allowed ? 'lets' : 'refuses'} ${group} ${action}`, () => {
        const attempt = () => authorize({ user: 'u@example.com', groups: [group] }, action);
        if (allowed) expect(attempt).not.toThrow();
        else expect(attempt).toThrow(ForbiddenError);
      });
    }
  }

  it('adds up the rights of several groups', () => {
    const both = { user: 'u@example.com', groups: ['operators', 'approvers'] as const };
    for (const action of ['read', 'switch', 'pin', 'rollback', 'approve'] as const)
      expect(() => authorize(both, action)).not.toThrow();
  });

  it('refuses everything to a user in no console group, saying which group to ask for', () => {
    expect(() => authorize({ user: 'carol@example.com', groups: [] }, 'read')).toThrow(
      'carol@example.com (no console group) may not read: ask an administrator to add you to viewers or operators or approvers',
    );
  });

  it('answers 403 with a message the page can show', () => {
    try {
      authorize({ user: 'vic@example.com', groups: ['viewers'] }, 'approve');
      throw new Error('not refused');
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).statusCode).toBe(403);
      expect((error as ForbiddenError).expose).toBe(true);
      expect((error as ForbiddenError).message).toBe(
        'vic@example.com (groups viewers) may not approve: ask an administrator to add you to approvers',
      );
    }
  });
});

describe('auditing a refused request', () => {
  const recorder = () => {
    const appended: PipelineEvent[] = [];
    const events: EventStore = {
      append: async (event) => {
        appended.push(...([] as PipelineEvent[]).concat(event));
      },
      list: async () => [],
    };
    return { appended, deps: { events, clock: () => 1_764_000_000_000 } };
  };
  const viewer = { user: 'vic@example.com', groups: ['viewers'] as const, sourceIp: '203.0.113.7' };

  it('records who, what, when and from where, on the environment’s timeline', async () => {
    const { appended, deps } = recorder();
    await auditDenied(deps, viewer, 'rollback', {
      route: 'POST /console/api/environments/prod-na/rollback',
      environment: 'prod-na',
    });
    expect(appended).toEqual([
      {
        at: 1_764_000_000_000,
        type: 'console-request-denied',
        actor: 'vic@example.com',
        environment: 'prod-na',
        message:
          'vic@example.com (viewers) was refused rollback from 203.0.113.7: POST /console/api/environments/prod-na/rollback',
        details: {
          action: 'rollback',
          groups: ['viewers'],
          via: 'console',
          sourceIp: '203.0.113.7',
          route: 'POST /console/api/environments/prod-na/rollback',
        },
      },
    ]);
  });

  it('authorizeAudited audits and then refuses with 403, and records nothing for an allowed request', async () => {
    const { appended, deps } = recorder();
    await expect(authorizeAudited(deps, viewer, 'pin', { environment: 'beta' })).rejects.toThrow(ForbiddenError);
    expect(appended.map((e) => [e.type, e.actor, e.environment, e.details?.action])).toEqual([
      ['console-request-denied', 'vic@example.com', 'beta', 'pin'],
    ]);
    await authorizeAudited(deps, viewer, 'read');
    expect(appended).toHaveLength(1);
  });
});
