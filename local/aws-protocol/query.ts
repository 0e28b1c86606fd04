import { XMLBuilder } from 'fast-xml-parser';

/**
 * The awsQuery wire format (SNS): form-encoded requests with dotted member names, XML responses.
 * `Entries.member.1.Id=a&Entries.member.2.Id=b` parses to `{ Entries: { member: { 1: { Id: 'a' }, 2: { Id: 'b' } } } }`;
 * `queryList` turns such a numbered object into an array.
 */
export type QueryValue = string | QueryObject;
export interface QueryObject {
  [key: string]: QueryValue;
}

export function parseQueryForm(body: string): QueryObject {
  const root: QueryObject = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const parts = name.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next === 'object') node = next;
      else node = node[part] = {};
    }
    node[parts[parts.length - 1]!] = value;
  }
  return root;
}

/** `{ member: { 1: x, 2: y } }` (or `{ entry: ... }`, or `{ 1: x }`) -> `[x, y]` in index order. */
export function queryList(value: QueryValue | undefined): QueryValue[] {
  if (value === undefined || typeof value === 'string') return [];
  const numbered =
    typeof value.member === 'object' ? value.member : typeof value.entry === 'object' ? value.entry : value;
  return Object.keys(numbered)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => numbered[k]!);
}

export function queryString(value: QueryValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

/** Arrays become `<member>` lists, as every query-protocol service serialises them. */
function toXmlShape(value: unknown): unknown {
  if (Array.isArray(value)) return { member: value.map(toXmlShape) };
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toXmlShape(v)]),
    );
  }
  return value;
}

export function queryResponseXml(action: string, xmlNamespace: string, result: unknown, requestId: string): string {
  const body = {
    [`${action}Response`]: {
      '@_xmlns': xmlNamespace,
      [`${action}Result`]: toXmlShape(result ?? {}),
      ResponseMetadata: { RequestId: requestId },
    },
  };
  return builder.build(body);
}

export function queryErrorXml(code: string, message: string, sender: boolean, requestId: string): string {
  return builder.build({
    ErrorResponse: {
      Error: { Type: sender ? 'Sender' : 'Receiver', Code: code, Message: message },
      RequestId: requestId,
    },
  });
}
