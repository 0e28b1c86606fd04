// Types of console/auth.js for the TypeScript that imports it (its tests); the browser never loads this file.

export const SESSION_KEY: string;
export const PKCE_KEY: string;
export const PENDING_KEY: string;
export const LOCAL_TOKEN_PATH: string;
export const CONFIG_PATH: string;

export type ConsoleClientConfig =
  | { readonly mode: 'local' }
  | {
      readonly mode: 'cognito';
      readonly domain: string;
      readonly clientId: string;
      readonly redirectUri: string;
      readonly scopes: readonly string[];
    };

export interface ConsoleSession {
  readonly token: string;
  readonly expiresAt: number;
  readonly user: string;
  readonly groups: readonly string[] | string;
}

export interface PendingAction {
  readonly method: string;
  readonly url: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly page?: string;
}

export type LoginReturn =
  | { kind: 'error'; error: string; description: string }
  | { kind: 'code'; code: string; state: string }
  | { kind: 'local'; token: string }
  | { kind: 'none' };

export interface RequestInitLike {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  credentials?: string;
}

export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}

export interface BrowserPieces {
  fetch(url: string, init?: RequestInitLike): Promise<ResponseLike>;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  location: { readonly href: string; assign(url: string): void };
  history: { replaceState(data: unknown, unused: string, url: string): void };
  crypto?: Crypto;
  now?: () => number;
}

export function base64Url(bytes: Uint8Array): string;
export function randomToken(cryptoImpl?: Crypto): string;
export function codeChallenge(verifier: string, cryptoImpl?: Crypto): Promise<string>;
export function parseConfig(value: unknown): ConsoleClientConfig;
export function authorizeUrl(
  config: Extract<ConsoleClientConfig, { mode: 'cognito' }>,
  request: { state: string; challenge: string },
): string;
export function tokenRequestBody(
  config: Extract<ConsoleClientConfig, { mode: 'cognito' }>,
  request: { code: string; verifier: string },
): string;
export function parseReturn(href: string): LoginReturn;
export function cleanUrl(href: string): string;
export function jwtPayload(token: string): Record<string, unknown> | undefined;
export function sessionFromTokenResponse(body: Record<string, unknown>, now: number): ConsoleSession;
export function isExpired(session: ConsoleSession | undefined, now: number): boolean;
export function pendingAction(url: string, init?: RequestInitLike, page?: string): PendingAction;

export class LoginRequiredError extends Error {}

export class ConsoleAuth {
  constructor(pieces: BrowserPieces);
  readonly config: ConsoleClientConfig | undefined;
  get user(): { user: string; groups: ConsoleSession['groups'] } | undefined;
  start(): Promise<{ signedIn: boolean; pending: PendingAction | undefined }>;
  login(pending?: PendingAction): Promise<never>;
  fetch(url: string, init?: RequestInitLike): Promise<ResponseLike>;
  replay(pending: PendingAction): Promise<ResponseLike>;
  logout(): void;
}

export function browserPieces(): BrowserPieces;

export function ensureSignedIn(auth?: ConsoleAuth): Promise<{
  user: string;
  groups: readonly string[];
  resumed?: { method: string; url: string; status: number; message?: string };
} | null>;
export function apiFetch(path: string, init?: RequestInitLike, auth?: ConsoleAuth): Promise<ResponseLike>;
