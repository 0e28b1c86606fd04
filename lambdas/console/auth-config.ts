/**
 * `/console/config.json`: tells the browser's `console/auth.js` how to sign in. On AWS that is Cognito's managed
 * login (authorization code + PKCE against the pool's domain, with the console's public client); locally it is the
 * one-time login token that `npm start` prints, exchanged at the front door for a bearer token.
 *
 * Nothing here is secret: the client id and the login domain are public by design (a public client has no secret).
 */
import { LockstepError, requireEnv } from '../core/errors';

/** The route local mode exchanges a one-time login token at (`local/http/console-login.ts`). */
export const LOCAL_TOKEN_PATH = '/console/auth/local-token';

export type ConsoleAuthConfig =
  | {
      readonly mode: 'cognito';
      /** `https://<domain>/oauth2/authorize` */
      readonly authorizeUrl: string;
      /** `https://<domain>/oauth2/token` */
      readonly tokenUrl: string;
      /** `https://<domain>/logout` */
      readonly logoutUrl: string;
      readonly clientId: string;
      /** The console's own URL, registered as the client's callback and logout URL. */
      readonly redirectUri: string;
      readonly scopes: readonly string[];
    }
  | {
      readonly mode: 'local';
      /** Where the one-time token from the console URL is exchanged for a bearer token. */
      readonly tokenUrl: string;
    };

/** The scopes the console asks for: `openid` for the ID token, `email` so it names the user as approvals do. */
export const CONSOLE_SCOPES = ['openid', 'email', 'profile'] as const;

/**
 * The browser's sign-in settings from the console function's environment (set by `buildConsoleAuth` on AWS):
 * `LOCKSTEP_CONSOLE_AUTH=cognito` with `LOCKSTEP_CONSOLE_LOGIN_BASE_URL`, `LOCKSTEP_CONSOLE_CLIENT_ID` and
 * `LOCKSTEP_CONSOLE_REDIRECT_URL`; unset or `local` in local mode. Read once at cold start: a missing variable
 * fails the deploy's first request with its name.
 *
 * @example
 * consoleAuthConfigFromEnv({ LOCKSTEP_CONSOLE_AUTH: 'local' }); // { mode: 'local', tokenUrl: '/console/auth/local-token' }
 */
export function consoleAuthConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleAuthConfig {
  const mode = env.LOCKSTEP_CONSOLE_AUTH ?? 'local';
  if (mode === 'local') return { mode: 'local', tokenUrl: LOCAL_TOKEN_PATH };
  if (mode !== 'cognito')
    throw new ConsoleAuthConfigError(`LOCKSTEP_CONSOLE_AUTH is "${mode}": use "cognito" (on AWS) or "local"`);
  const base = requireEnv('LOCKSTEP_CONSOLE_LOGIN_BASE_URL', env).replace(/\/+$/, '');
  return {
    mode: 'cognito',
    authorizeUrl: `${base}/oauth2/authorize`,
    tokenUrl: `${base}/oauth2/token`,
    logoutUrl: `${base}/logout`,
    clientId: requireEnv('LOCKSTEP_CONSOLE_CLIENT_ID', env),
    redirectUri: requireEnv('LOCKSTEP_CONSOLE_REDIRECT_URL', env),
    scopes: CONSOLE_SCOPES,
  };
}

/** The console function's sign-in settings are wrong. */
export class ConsoleAuthConfigError extends LockstepError {}
