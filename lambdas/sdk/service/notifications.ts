/** The words of SDK notifications: what happened, why, and what the owner can do. */
import type { SdkNotification } from '../../ports/sdk';
import type { VersionRecord } from '../records/records';

const label = (r: Pick<VersionRecord, 'name' | 'version'>) => `${r.name} ${r.version}`;

function ownersOf(records: readonly VersionRecord[]): string[] {
  return records.map((r) => r.metadata.contact);
}

export function conflictNotification(records: readonly VersionRecord[]): SdkNotification {
  const first = records[0]!;
  const involved = records.flatMap((r) => r.involved ?? []);
  const recipients = [...ownersOf(records), ...involved.flatMap((s) => s.contacts)];
  const names = [...new Set(involved.map((s) => s.name))].sort();
  return {
    event: 'sdk-conflict',
    subject: `Lockstep: ${records.map(label).join(', ')} conflicts with ${names.filter((n) => !records.some((r) => r.name === n)).join(', ') || 'the staged set'}`,
    text: [
      `${records.map(label).join(', ')} cannot be published yet.`,
      '',
      first.reason,
      '',
      `SDKs involved: ${names.join(', ')}. Every owner involved receives this message.`,
      'Publish versions whose requirements overlap (or publish the shared library as its own package), then push again.',
    ].join('\n'),
    recipients,
    sdk: first.name,
    version: first.version,
  };
}

export function testFailedNotification(records: readonly VersionRecord[]): SdkNotification {
  const first = records[0]!;
  const lines = records.flatMap((r) => [`${label(r)}: ${r.reason}`]);
  return {
    event: 'sdk-test-failed',
    subject: `Lockstep: tests failed for ${records.map(label).join(', ')}`,
    text: [
      `The tester could not verify ${records.map(label).join(', ')}; nothing was published.`,
      '',
      ...lines,
      '',
      'Fix the package and push the version again.',
    ].join('\n'),
    recipients: ownersOf(records),
    sdk: first.name,
    version: first.version,
  };
}

export function publishedNotification(records: readonly VersionRecord[]): SdkNotification {
  const first = records[0]!;
  return {
    event: records.every((r) => r.status === 'WITHDRAWN') ? 'sdk-withdrawn' : 'sdk-published',
    subject: `Lockstep: ${records.map(label).join(', ')} ${records.every((r) => r.status === 'WITHDRAWN') ? 'withdrawn' : 'published'}`,
    text: records.map((r) => `${label(r)} (${r.metadata.tier}): ${r.reason}`).join('\n'),
    recipients: ownersOf(records),
    sdk: first.name,
    version: first.version,
  };
}

export function rejectedNotification(
  sdk: { name: string; version: string },
  reason: string,
  contact: string | undefined,
): SdkNotification | undefined {
  if (contact === undefined) return undefined;
  return {
    event: 'sdk-rejected',
    subject: `Lockstep: ${sdk.name} ${sdk.version} was refused`,
    text: [
      `The upload of ${sdk.name} ${sdk.version} was refused:`,
      '',
      reason,
      '',
      'Fix it and push the version again.',
    ].join('\n'),
    recipients: [contact],
    sdk: sdk.name,
    version: sdk.version,
  };
}
