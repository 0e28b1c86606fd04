/**
 * CloudFront signed URLs issued per second, canned and custom policy, with the private key parsed once into a
 * KeyObject (`CloudFrontUrlSigner`) against the named baseline that re-parses the PEM on every call; and signed
 * URLs verified per second (the local edge's check). All in the same run, on the same 2048-bit key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CloudFrontUrlSigner, signWithPemEachTime, type SignRequest } from '../lambdas/sdk/host/signer';
import { CloudFrontUrlVerifier } from '../lambdas/sdk/host/verify';

const ITERATIONS = 2000;
const ROUNDS = 3;

function rate(label: string, run: (i: number) => unknown): number {
  for (let i = 0; i < 100; i++) run(i); // warm-up
  const perSecond: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < ITERATIONS; i++) run(i);
    perSecond.push((ITERATIONS / (performance.now() - start)) * 1000);
  }
  const median = perSecond.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
  console.log(`${label.padEnd(56)} ${median.toFixed(0).padStart(7)} /s  (${(1000 / median).toFixed(3)} ms each)`);
  return median;
}

export default async function bench(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const config = { keyPairId: 'KBENCH', privateKeyPem, baseUrl: 'https://d111111abcdef8.cloudfront.net' };
  const signer = new CloudFrontUrlSigner(config);
  const verifier = new CloudFrontUrlVerifier({ KBENCH: publicKey });
  const expiresAt = new Date(Date.now() + 300_000);
  const canned = (i: number): SignRequest => ({ key: `private/maps/2.0.${i % 50}/maps-2.0.${i % 50}.zip`, expiresAt });
  const custom = (i: number): SignRequest => ({
    ...canned(i),
    ipRange: '203.0.113.0/24',
    notBefore: new Date(Date.now() - 60_000),
  });

  const cannedKeyObject = rate('canned policy, KeyObject parsed once', (i) => signer.sign(canned(i)));
  const cannedPem = rate('canned policy, PEM re-parsed per call (baseline)', (i) =>
    signWithPemEachTime(config, canned(i)),
  );
  const customKeyObject = rate('custom policy (IP range, start), KeyObject parsed once', (i) => signer.sign(custom(i)));
  const customPem = rate('custom policy (IP range, start), PEM per call (baseline)', (i) =>
    signWithPemEachTime(config, custom(i)),
  );
  console.log(
    `speed-up from parsing the key once: canned x${(cannedKeyObject / cannedPem).toFixed(2)}, custom x${(customKeyObject / customPem).toFixed(2)}`,
  );

  const cannedUrls = Array.from({ length: 50 }, (_, i) => signer.sign(canned(i)).url);
  const customUrls = Array.from({ length: 50 }, (_, i) => signer.sign(custom(i)).url);
  const now = new Date();
  rate('verify canned URL', (i) => verifier.verify(cannedUrls[i % 50]!, { now }));
  rate('verify custom URL (IP range checked)', (i) =>
    verifier.verify(customUrls[i % 50]!, { now, sourceIp: '203.0.113.9' }),
  );
}
