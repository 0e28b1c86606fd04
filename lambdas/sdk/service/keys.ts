/**
 * Object keys and names of the SDK publishing runtime.
 *
 * SDK host bucket (what providers upload; a plain S3 put works as well as the upload API):
 *
 *   incoming/<name>/<version>/artifacts.zip
 *   incoming/<name>/<version>/lockstep-sdk.{json,yaml,yml,xml}
 *   received/<name>/<version>/<upload etag>/{artifacts.zip,lockstep-sdk.*}  (moved there once taken in, so the
 *     poll's listing of incoming/ holds only what is still to take in; executions read these)
 *
 * Staging bucket (converted packages, their contents for duplicate detection, tester plans and results):
 *
 *   packages/<name>/<version>/<name>-<version>.zip
 *   contents/<name>/<version>.json
 *   tests/<plan id>/plan.json, tests/<plan id>/results.json (the trusted tester's)
 *   tests/<plan id>/provider-run.json, tests/<plan id>/provider-output.json (the provider-code build's)
 *   tester/source.zip, tester/provider-runner.mjs (local mode's tester and runner bundles)
 *
 * The package host's layout is `lambdas/sdk/host/keys.ts`.
 */
import { createHash } from 'node:crypto';
import { METADATA_FILE_NAMES } from '../metadata';
import type { SdkVersionRef } from '../model';
import { packageFileName } from '../host/keys';

export const INCOMING_PREFIX = 'incoming/';
export const ARTIFACTS_FILE = 'artifacts.zip';
export const RECEIVED_PREFIX = 'received/';

/** Where intake moves an upload it took in: one folder per upload (etag), so a re-push never overwrites one in use. */
export function receivedKey(ref: SdkVersionRef, etag: string, fileName: string): string {
  return `${RECEIVED_PREFIX}${ref.name}/${ref.version}/${etag}/${fileName}`;
}

/** Name and version as they may appear in a key: the metadata rules allow no `/` in either. */
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

export function isSafeSegment(value: string): boolean {
  return SAFE_SEGMENT.test(value) && !value.includes('..');
}

export function incomingPrefix(ref: SdkVersionRef): string {
  return `${INCOMING_PREFIX}${ref.name}/${ref.version}/`;
}

export function artifactsKey(ref: SdkVersionRef): string {
  return `${incomingPrefix(ref)}${ARTIFACTS_FILE}`;
}

export function metadataKey(ref: SdkVersionRef, fileName: string): string {
  return `${incomingPrefix(ref)}${fileName}`;
}

/** What an SDK host key is: the archive or a metadata file of one (SDK, version); undefined for anything else. */
export function parseIncomingKey(
  key: string,
): { ref: SdkVersionRef; file: 'artifacts' | 'metadata'; fileName: string } | undefined {
  if (!key.startsWith(INCOMING_PREFIX)) return undefined;
  const parts = key.slice(INCOMING_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [name, version, fileName] = parts as [string, string, string];
  if (!isSafeSegment(name) || !isSafeSegment(version)) return undefined;
  if (fileName === ARTIFACTS_FILE) return { ref: { name, version }, file: 'artifacts', fileName };
  if (METADATA_FILE_NAMES[fileName] !== undefined) return { ref: { name, version }, file: 'metadata', fileName };
  return undefined;
}

export function stagedPackageKey(ref: SdkVersionRef): string {
  return `packages/${ref.name}/${ref.version}/${packageFileName(ref.name, ref.version)}`;
}

export function contentsObjectKey(ref: SdkVersionRef): string {
  return `contents/${ref.name}/${ref.version}.json`;
}

export function testPlanKey(planId: string): string {
  return `tests/${planId}/plan.json`;
}

export function testResultsKey(planId: string): string {
  return `tests/${planId}/results.json`;
}

/** The provider-code build's plan: the same packages, and its one output key. */
export function providerRunKey(planId: string): string {
  return `tests/${planId}/provider-run.json`;
}

/** Where the provider-code build PUTs what provider code did (untrusted: the judge reads it through a schema). */
export function providerOutputKey(planId: string): string {
  return `tests/${planId}/provider-output.json`;
}

/** Where the construct (and local mode) put the tester bundle zip, the tester project's source. */
export const TESTER_SOURCE_KEY = 'tester/source.zip';
/** Where local mode puts the provider-code runner bundle (the construct uploads it as an asset). */
export const PROVIDER_RUNNER_KEY = 'tester/provider-runner.mjs';

/**
 * A Step Functions execution name: `[A-Za-z0-9-_]`, at most 80 characters, readable start, and a hash of every
 * part so that two different inputs never share a name while the same input always gets the same one.
 *
 * @example executionNameFor(['maps', '2.0.0', 'intake', etag]) // "maps-2.0.0-intake-3f9a1c0b2d4e"
 */
export function executionNameFor(parts: readonly string[]): string {
  const hash = createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 12);
  const readable = parts
    .slice(0, 3)
    .join('-')
    .replace(/[^A-Za-z0-9-_]/g, '_')
    .slice(0, 80 - hash.length - 1);
  return `${readable}-${hash}`;
}

/** `name@version`, the sort key of a version and the label in messages. */
export function refLabel(ref: SdkVersionRef): string {
  return `${ref.name}@${ref.version}`;
}

export function parseRefLabel(label: string): SdkVersionRef | undefined {
  const at = label.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: label.slice(0, at), version: label.slice(at + 1) };
}
