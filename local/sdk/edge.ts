/**
 * The local edge: CloudFront's stand-in in front of the local package host bucket. Objects under `public/` are
 * served to anyone; everything else only with a signed URL that `CloudFrontUrlVerifier` accepts with the real
 * public key (signature, resource, expiry, start time, source address), so local mode refuses exactly what
 * CloudFront would. Refusals are 403 with the verifier's reason; GET and HEAD only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudFrontUrlVerifier } from '../../lambdas/sdk/host/verify';
import { closeServer, LOCAL_HOST, listen } from '../net';

export interface LocalEdgeOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly verifier: CloudFrontUrlVerifier;
  readonly now: () => number;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export class LocalEdge {
  private server?: Server;
  private base?: string;

  constructor(private readonly options: LocalEdgeOptions) {}

  /** Starts listening on loopback; returns the base URL (`http://127.0.0.1:<port>`), the CDN base URL locally. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      // Like a CDN: the client gets a plain 500 without internals (handle() answers every expected failure itself).
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal error' }));
      });
    });
    const port = await listen(this.server, this.options.port ?? 0);
    this.base = `http://${LOCAL_HOST}:${port}`;
    return this.base;
  }

  get url(): string {
    if (this.base === undefined) throw new Error('The local edge has not started');
    return this.base;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return refuse(res, 405, 'Method not allowed');
    const raw = req.url ?? '/';
    const path = raw.split('?')[0]!;
    let key: string;
    try {
      key = path.replace(/^\/+/, '').split('/').map(decodeURIComponent).join('/');
    } catch {
      return refuse(res, 400, 'Malformed path');
    }
    if (key === '' || key.split('/').some((s) => s === '..' || s === '.')) return refuse(res, 400, 'Malformed path');
    if (!key.startsWith('public/')) {
      const result = this.options.verifier.verify(`${this.url}${raw}`, {
        now: new Date(this.options.now()),
        sourceIp: req.socket.remoteAddress ?? '',
      });
      if (!result.ok) return refuse(res, 403, result.message, result.reason);
    }
    let object;
    try {
      object = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NoSuchKey' || status === 404) return refuse(res, 404, 'Not found');
      throw error;
    }
    res.writeHead(200, {
      'content-type': object.ContentType ?? 'application/octet-stream',
      ...(object.ContentLength !== undefined ? { 'content-length': String(object.ContentLength) } : {}),
      'cache-control': key.startsWith('public/') ? 'public, max-age=300' : 'private, no-store',
    });
    if (method === 'HEAD') {
      (object.Body as Readable).destroy();
      res.end();
      return;
    }
    (object.Body as Readable).pipe(res);
  }
}

function refuse(res: ServerResponse, status: number, message: string, reason?: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ message, ...(reason !== undefined ? { reason } : {}) }));
}
