import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LOCAL_HOST, closeServer, listen } from '../net';
import { AwsApiError } from './errors';
import { parseQueryForm, queryErrorXml, queryResponseXml, type QueryObject } from './query';

/**
 * A tiny server for the AWS wire protocols the local services speak, so the unchanged AWS SDK v3 clients can talk
 * to them through `AWS_ENDPOINT_URL_<SERVICE>`:
 *
 * - awsJson1_0 / awsJson1_1 (Step Functions, CodeBuild, Secrets Manager): `POST /`, operation in `X-Amz-Target`
 *   (`<prefix>.<Operation>`), JSON in and out, errors as `{ "__type": code, "message": ... }`.
 * - awsQuery (SNS): form-encoded `Action=...`, XML out, errors as `<ErrorResponse>`.
 * - awsJson1_0 with `awsQueryCompatible` (CloudWatch): JSON as above, but errors keep the query protocol's codes
 *   (`ResourceNotFound`, `InvalidParameterValue`): `__type` names the error shape (`<namespace>#<Shape>`), and a
 *   client that sends `x-amzn-query-mode: true` (every AWS SDK v3 CloudWatch client does) gets the query code in
 *   `x-amzn-query-error: <Code>;<Sender|Receiver>`, which the SDK puts in the error's `Code`.
 *
 * Signatures are not checked (local mode serves loopback only), and nothing here logs request headers, so the
 * Authorization header never reaches a log.
 */
export type AwsProtocol = 'awsJson1_0' | 'awsJson1_1' | 'awsQuery';

// Handlers receive the decoded request; each service validates the members it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AwsOperation = (input: any) => unknown;

export interface AwsServiceDefinition {
  /** For messages only, e.g. `Step Functions`. */
  readonly serviceName: string;
  readonly protocol: AwsProtocol;
  /** JSON protocols: the `X-Amz-Target` prefix, e.g. `AWSStepFunctions`. */
  readonly targetPrefix?: string;
  /** awsQuery: the XML namespace of responses, e.g. `http://sns.amazonaws.com/doc/2010-03-31/`. */
  readonly xmlNamespace?: string;
  /** Operation name (`StartExecution`, `Publish`) -> implementation. */
  readonly operations: Readonly<Record<string, AwsOperation>>;
  /**
   * A JSON service that keeps its query-protocol error codes (CloudWatch): the Smithy namespace of its error shapes,
   * and the shape of each query code whose shape is named differently (`InvalidParameterValue` ->
   * `InvalidParameterValueException`). @default none (plain JSON errors)
   */
  readonly awsQueryCompatible?: {
    readonly namespace: string;
    readonly shapeOfCode: Readonly<Record<string, string>>;
  };
  /** Largest request body accepted. @default 1 MiB */
  readonly maxBodyBytes?: number;
  /** Where unexpected (non-AwsApiError) failures are reported. @default console.error */
  readonly onInternalError?: (error: unknown, operation: string) => void;
}

export interface RunningAwsServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** Starts a server for one service on `port` (0: a free one). */
export async function startAwsServer(definition: AwsServiceDefinition, port = 0): Promise<RunningAwsServer> {
  const server: Server = createServer((req, res) => {
    handle(definition, req, res).catch((error) => {
      (definition.onInternalError ?? defaultInternalError)(error, 'request');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const bound = await listen(server, port);
  return { endpoint: `http://${LOCAL_HOST}:${bound}`, port: bound, close: () => closeServer(server) };
}

function defaultInternalError(error: unknown, operation: string): void {
  console.error(`[local] ${operation} failed:`, error);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(definition: AwsServiceDefinition, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const isQuery = definition.protocol === 'awsQuery';
  const queryMode = req.headers['x-amzn-query-mode'] === 'true';
  const fail = (error: AwsApiError) => writeError(definition, res, requestId, error, queryMode);
  const body = await readBody(req, definition.maxBodyBytes ?? DEFAULT_MAX_BODY);
  if (body === undefined) {
    return fail(new AwsApiError('RequestEntityTooLarge', 'Request body too large', { statusCode: 413 }));
  }

  let operationName: string;
  let input: unknown;
  if (isQuery) {
    const form: QueryObject = parseQueryForm(body.toString('utf8'));
    operationName = typeof form.Action === 'string' ? form.Action : '';
    delete form.Action;
    delete form.Version;
    input = form;
  } else {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, op] = target.split('.');
    operationName = prefix === definition.targetPrefix && op ? op : '';
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return fail(new AwsApiError('SerializationException', 'Request body is not valid JSON'));
    }
  }

  const operation = Object.hasOwn(definition.operations, operationName)
    ? definition.operations[operationName]
    : undefined;
  if (!operation) {
    const error = new AwsApiError(
      isQuery ? 'InvalidAction' : 'UnknownOperationException',
      `${definition.serviceName} (local) does not implement operation '${operationName || '(none)'}'`,
    );
    return fail(error);
  }

  let result: unknown;
  try {
    result = await operation(input);
  } catch (error) {
    if (error instanceof AwsApiError) return fail(error);
    (definition.onInternalError ?? defaultInternalError)(error, `${definition.serviceName} ${operationName}`);
    return fail(
      new AwsApiError(isQuery ? 'InternalError' : 'InternalServerError', 'Internal error in the local service', {
        statusCode: 500,
      }),
    );
  }

  if (isQuery) {
    const xml = queryResponseXml(operationName, definition.xmlNamespace ?? '', result, requestId);
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(xml);
  } else {
    res.writeHead(200, { 'content-type': contentType(definition.protocol), 'x-amzn-requestid': requestId });
    res.end(JSON.stringify(toWire(result ?? {})));
  }
}

function contentType(protocol: AwsProtocol): string {
  return protocol === 'awsJson1_0' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
}

/** The JSON protocols send timestamps as epoch seconds (the SDK turns them back into Dates). */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function writeError(
  definition: AwsServiceDefinition,
  res: ServerResponse,
  requestId: string,
  error: AwsApiError,
  queryMode: boolean,
): void {
  if (definition.protocol === 'awsQuery') {
    res.writeHead(error.statusCode, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(queryErrorXml(error.code, error.message, error.statusCode < 500, requestId));
    return;
  }
  const compatible = definition.awsQueryCompatible;
  const type = compatible ? `${compatible.namespace}#${compatible.shapeOfCode[error.code] ?? error.code}` : error.code;
  res.writeHead(error.statusCode, {
    'content-type': contentType(definition.protocol),
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': compatible ? type.split('#')[1]! : error.code,
    ...(compatible && queryMode
      ? { 'x-amzn-query-error': `${error.code};${error.statusCode < 500 ? 'Sender' : 'Receiver'}` }
      : {}),
  });
  res.end(JSON.stringify({ __type: type, message: error.message }));
}
