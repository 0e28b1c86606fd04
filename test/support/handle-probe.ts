import { createHook } from 'node:async_hooks';
import { afterAll } from '@jest/globals';
const live = new Map<number, string>();
createHook({
  init(id, type) {
    if (type === 'Timeout' || type === 'TCPWRAP' || type === 'PROCESSWRAP' || type === 'PIPEWRAP' || type === 'TCPSERVERWRAP' || type === 'FSEVENTWRAP' || type === 'STATWATCHER') {
      const frames = new Error().stack!.split('\n').filter((l) => l.includes('/work/wt/adapters/') && !l.includes('node_modules') && !l.includes('handle-probe'));
      live.set(id, `${type} ${frames.slice(0, 4).join(' | ')}`);
    }
  },
  destroy(id) {
    live.delete(id);
  },
}).enable();
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 2000));
  process.stderr.write(`OPENHANDLES ${process.getActiveResourcesInfo().join(',')}\n${[...live.values()].join('\n')}\nENDHANDLES\n`);
});
