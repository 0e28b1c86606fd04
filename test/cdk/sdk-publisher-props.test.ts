/**
 * SdkPublisher prop mistakes are reported together, in one synth, each naming the prop and the fix. Every case
 * throws before any function is bundled, so no synthesis cost.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from '@jest/globals';
import { SdkPublisher, SdkPublisherPropsError, type SdkPublisherProps } from '../../lib/sdk-publisher';

const EXAMPLE_KEY = readFileSync(new URL('../../examples/sdk-cloudfront-public-key.pem', import.meta.url), 'utf8');
const EXAMPLE_POLICY = JSON.parse(
  readFileSync(new URL('../../examples/sdk-access-policy.json', import.meta.url), 'utf8'),
) as SdkPublisherProps['accessPolicy'];

function attempt(props: Partial<SdkPublisherProps>): SdkPublisherPropsError {
  const stack = new Stack(new App(), 'Props');
  try {
    new SdkPublisher(stack, 'SdkPublisher', {
      cloudFrontPublicKey: EXAMPLE_KEY,
      signingKeySecret: secretsmanager.Secret.fromSecretNameV2(
        stack,
        'SigningKey',
        'lockstep/sdk/cloudfront-private-key',
      ),
      accessPolicy: EXAMPLE_POLICY,
      ...props,
    });
  } catch (error) {
    expect(error).toBeInstanceOf(SdkPublisherPropsError);
    return error as SdkPublisherPropsError;
  }
  throw new Error('expected SdkPublisher to refuse the props');
}

describe('SdkPublisher props', () => {
  it("refuses archive limits whose largest entry cannot fit the steps function's /tmp (10,240 MiB at most)", () => {
    const error = attempt({ archiveLimits: { maxTotalBytes: 20 * 1024 ** 3 } });
    expect(error.problems).toEqual([
      `archiveLimits.maxTotalBytes: the SDK steps function copies entries of up to this size to /tmp, which Lambda caps at 10240 MiB with 512 MiB kept free; use at most ${9728 * 1024 ** 2} (got ${20 * 1024 ** 3})`,
    ]);
  });

  it('reports every bad prop in one error, each with its fix', () => {
    const error = attempt({
      signedUrlTtl: Duration.days(3),
      pollInterval: Duration.seconds(90),
      domainName: 'sdk.example.com',
      notificationEmails: ['owner@example.com', 'not-an-address'],
      accessPolicy: { groups: { employees: {} }, tiers: { private: ['contractors'] } },
    });
    expect(error.problems).toEqual([
      'accessPolicy: tiers.private: group "contractors" is not defined under groups; define it or remove it',
      'domainName: give certificate too (an ACM certificate for that name, in us-east-1), or leave both out',
      'signedUrlTtl: use between Duration.minutes(1) and Duration.days(1) (got 3 days)',
      'pollInterval: EventBridge schedules run in whole minutes; use Duration.minutes(n) with n >= 1 (got 1 minute 30 seconds)',
      'notificationEmails[1]: "not-an-address" is not an email address',
    ]);
    expect(error.message).toMatch(/^SdkPublisher has 5 invalid prop\(s\):/);
  });

  it('reports bad archive limits together with the other mistakes', () => {
    const error = attempt({
      signedUrlTtl: Duration.days(3),
      archiveLimits: { maxTotalBytes: -1, maxCompressionRatio: 0.5, maxEntrys: 10 } as never,
    });
    expect(error.problems).toEqual([
      'signedUrlTtl: use between Duration.minutes(1) and Duration.days(1) (got 3 days)',
      expect.stringMatching(/^archiveLimits\.maxTotalBytes: /),
      expect.stringMatching(/^archiveLimits\.maxCompressionRatio: /),
      expect.stringMatching(/^archiveLimits: Unrecognized key: "maxEntrys"/),
    ]);
  });

  it('refuses a private key given as the public key, without echoing it', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const error = attempt({ cloudFrontPublicKey: pem });
    expect(error.problems).toEqual([
      expect.stringMatching(/^cloudFrontPublicKey: this is a private key; give only the public half/),
    ]);
    expect(error.message).not.toContain(pem.split('\n')[1]);
  });

  it('refuses keys CloudFront cannot use: not PEM, not RSA, not 2048 bits', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    expect(attempt({ cloudFrontPublicKey: 'ssh-rsa AAAA...' }).problems).toEqual([
      expect.stringContaining('is not a PEM public key'),
    ]);
    expect(attempt({ cloudFrontPublicKey: ec }).problems).toEqual([expect.stringContaining('is a ec key')]);
    expect(attempt({ cloudFrontPublicKey: small }).problems).toEqual([
      expect.stringContaining('is an RSA 1024-bit key'),
    ]);
  });

  it('reads the access policy from a YAML file and reports its problems with the file name', () => {
    const folder = mkdtempSync(join(tmpdir(), 'lockstep-policy-'));
    const file = join(folder, 'policy.yaml');
    writeFileSync(file, 'groups:\n  employees: { ipRanges: ["10.0.0.0/33"] }\n');
    const error = attempt({ accessPolicy: file, pollInterval: Duration.minutes(0) });
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^accessPolicy \(.*policy\.yaml\): groups\.employees\.ipRanges\.0: is not an IP address or CIDR range/,
      ),
      expect.stringContaining('pollInterval'),
    ]);
    expect(attempt({ accessPolicy: join(folder, 'missing.json') }).problems).toEqual([
      expect.stringContaining('the file does not exist'),
    ]);
  });

  it('wants a custom domain and its us-east-1 certificate together', () => {
    const stack = new Stack(new App(), 'Certs');
    const euCertificate = acm.Certificate.fromCertificateArn(
      stack,
      'Eu',
      'arn:aws:acm:eu-west-1:111122223333:certificate/abc',
    );
    expect(attempt({ certificate: euCertificate, domainName: 'sdk.example.com' }).problems).toEqual([
      expect.stringContaining(
        'certificate: CloudFront uses ACM certificates from us-east-1 only (this one is in eu-west-1)',
      ),
    ]);
    expect(attempt({ certificate: euCertificate }).problems).toEqual(
      expect.arrayContaining([expect.stringContaining('certificate: give domainName too')]),
    );
    expect(attempt({ domainName: 'not a host', certificate: euCertificate }).problems).toEqual(
      expect.arrayContaining([expect.stringContaining('domainName: "not a host" is not a host name')]),
    );
  });
});
