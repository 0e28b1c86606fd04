// Local mode reads files that may not exist yet (the outbox before the first message, markers, env files). Only
// "does not exist" may read as empty: a file that exists but cannot be read is an error the user must see.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { readOutbox } from '../../local/console/status';
import { whenMissing } from '../../local/files';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-files-'));

describe('whenMissing', () => {
  it('turns a missing file, or a path through a file, into the fallback', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    await expect(readFile(join(dir, 'absent'), 'utf8').catch(whenMissing(''))).resolves.toBe('');
    await expect(readFile(join(dir, 'plain', 'below'), 'utf8').catch(whenMissing(''))).resolves.toBe('');
  });

  it('rethrows any other error', async () => {
    mkdirSync(join(dir, 'folder'));
    await expect(readFile(join(dir, 'folder'), 'utf8').catch(whenMissing(''))).rejects.toMatchObject({
      code: 'EISDIR',
    });
  });
});

describe('readOutbox', () => {
  it('reads a missing outbox as no messages', async () => {
    await expect(readOutbox(join(dir, 'no-outbox.jsonl'))).resolves.toEqual([]);
  });

  it('reports an outbox it cannot read instead of showing no messages', async () => {
    mkdirSync(join(dir, 'outbox-is-a-folder'));
    await expect(readOutbox(join(dir, 'outbox-is-a-folder'))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
