import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueSdkToken } from '../../../bin/commands/sdk';
import { authenticate } from '../../../lambdas/sdk/service/credentials';
import { startSdkEnv, type SdkEnv } from './sdk-env';

let env: SdkEnv;
beforeAll(async () => {
  env = await startSdkEnv();
});
afterAll(() => env.close());

describe('lockstep sdk token', () => {
  it('issues a consumer token that the download API then recognises with its groups', async () => {
    const { token, expiresAt } = await issueSdkToken(
      { id: 'acme-app', roles: ['consumer'], groups: ['partners'], sdks: [], expires: '30d' },
      { table: process.env.LOCKSTEP_SDK_TABLE!, dataDir: '/nonexistent' },
    );
    expect(token).toMatch(/^lst_/);
    const credential = await authenticate(env.store, token, new Date());
    expect(credential).toMatchObject({ id: 'acme-app', groups: ['partners'], roles: ['consumer'] });
    expect(Date.parse(expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  });

  it('refuses a provider token without the SDKs it may push, an unknown role and a bad lifetime, saying what to pass', async () => {
    const target = { table: process.env.LOCKSTEP_SDK_TABLE!, dataDir: '/nonexistent' };
    await expect(issueSdkToken({ id: 'maps-team', roles: ['provider'], groups: [], sdks: [] }, target)).rejects.toThrow(
      /needs --sdks/,
    );
    await expect(issueSdkToken({ id: 'x', roles: ['admin' as never], groups: [], sdks: [] }, target)).rejects.toThrow(
      /consumer or provider/,
    );
    await expect(
      issueSdkToken({ id: 'x', roles: ['consumer'], groups: [], sdks: [], expires: 'soon' }, target),
    ).rejects.toThrow(/duration such as 90d/);
  });

  it('says how to start local mode when no table is named and nothing runs locally', async () => {
    await expect(
      issueSdkToken({ id: 'x', roles: ['consumer'], groups: [], sdks: [] }, { dataDir: '/nonexistent-lockstep-data' }),
    ).rejects.toThrow(/npm start/);
  });
});
