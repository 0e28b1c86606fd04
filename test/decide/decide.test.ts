import { describe, expect, it } from '@jest/globals';
import { decide } from '../../lambdas/core/decide/decide';
import { executionName } from '../../lambdas/core/names';
import { deployed, revision, snapshot } from './fixtures';

const NOW = Date.parse('2024-01-03T12:00:00Z'); // a Wednesday, 12:00 in London
const night = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const,
  start: '22:00',
  end: '04:00',
  timeZone: 'Europe/London',
};
const nightWindow = { ...night, days: [...night.days] };

describe('decide', () => {
  it('deploys the selected revision as the execution named after (promotion, application, revision)', () => {
    const d = decide(
      snapshot({ destination: { applications: { A: { current: deployed('A', 1), approved: [1] } } } }),
      NOW,
    );
    expect(d.kind).toBe('deploy');
    if (d.kind !== 'deploy') return;
    expect(d.revision.number).toBe(2);
    expect(d.executionName).toBe(executionName('Beta-to-Prod', 'A', 2));
    expect(d.reason).toBe('Deploy A r2 to Prod (replacing r1) as execution Beta-to-Prod-A-r2.');
  });

  it('says nothing is promoted when the pipeline is disabled, before anything else', () => {
    const d = decide(snapshot({ pipeline: { enabled: false, automation: true }, candidates: [] }), NOW);
    expect(d).toMatchObject({ kind: 'disabled', scope: 'pipeline' });
    expect(d.reason).toMatch(/pipeline is disabled/);
  });

  it('names a disabled promotion', () => {
    expect(decide(snapshot({ promotion: { enabled: false } }), NOW)).toMatchObject({
      kind: 'disabled',
      scope: 'promotion',
      reason: 'Promotion Beta-to-Prod is disabled, so A is not promoted to Prod.',
    });
  });

  it('reports no candidate when nothing is approved at the source environment', () => {
    const d = decide(snapshot({ candidates: [] }), NOW);
    expect(d).toMatchObject({ kind: 'no-candidate' });
    expect(d.reason).toBe('Nothing to promote to Prod: no revision of A is approved at Beta yet.');
  });

  it('reports no compatible revision with the conflicting package versions instead of picking one', () => {
    const d = decide(
      snapshot({
        promotion: { strategy: 'compatible' },
        candidates: [
          revision('A', 1, { versionSet: { shared: 'v1' } }),
          revision('A', 2, { versionSet: { shared: 'v2' } }),
        ],
        destination: { applications: { B: { current: deployed('B', 3, { shared: 'v3' }), approved: [] } } },
      }),
      NOW,
    );
    expect(d).toMatchObject({ kind: 'no-compatible-revision', candidates: [2, 1] });
    expect(d.reason).toContain('r2 has shared@v2 where B r3 has shared@v3');
  });

  it('promotes the compatible revision, not the latest (worked case)', () => {
    const d = decide(
      snapshot({
        promotion: { strategy: 'compatible' },
        candidates: [
          revision('A', 1, { versionSet: { shared: 'v1' } }),
          revision('A', 2, { versionSet: { shared: 'v2' } }),
        ],
        destination: { applications: { B: { current: deployed('B', 1, { shared: 'v1' }), approved: [] } } },
      }),
      NOW,
    );
    expect(d.kind === 'deploy' && d.revision.number).toBe(1);
  });

  it('is in sync when the destination already runs the selected revision, even with the window closed', () => {
    const d = decide(
      snapshot({
        destination: { applications: { A: { current: deployed('A', 2), approved: [] } }, windows: [nightWindow] },
      }),
      NOW,
    );
    expect(d).toMatchObject({
      kind: 'in-sync',
      revision: 2,
      reason: 'Prod already runs A r2, the latest revision approved at Beta.',
    });
  });

  it('never starts the same (promotion, revision) twice', () => {
    const d = decide(snapshot({ startedExecutions: [executionName('Beta-to-Prod', 'A', 2)] }), NOW);
    expect(d).toMatchObject({ kind: 'already-started', revision: 2, executionName: 'Beta-to-Prod-A-r2' });
  });

  it('finds a started execution among many', () => {
    const started = Array.from({ length: 100 }, (_, i) => executionName('Beta-to-Prod', 'A', i + 3));
    expect(decide(snapshot({ startedExecutions: [...started, 'Beta-to-Prod-A-r2'] }), NOW).kind).toBe(
      'already-started',
    );
    expect(decide(snapshot({ startedExecutions: started }), NOW).kind).toBe('deploy');
  });

  describe('manual promotions', () => {
    const manual = { promotion: { approval: 'manual' as const } };

    it('waits for a manual approval of the selected revision', () => {
      expect(decide(snapshot(manual), NOW)).toMatchObject({
        kind: 'awaiting-approval',
        revision: 2,
        reason: 'A r2 is waiting for a manual approval before it is promoted to Prod.',
      });
    });

    it('deploys once approved', () => {
      const approvals = [{ promotion: 'Beta-to-Prod', application: 'A', revision: 2, decision: 'approved' as const }];
      expect(decide(snapshot({ ...manual, promotionApprovals: approvals }), NOW).kind).toBe('deploy');
    });

    it('does not count an approval of another revision or promotion', () => {
      const approvals = [
        { promotion: 'Beta-to-Prod', application: 'A', revision: 1, decision: 'approved' as const },
        { promotion: 'Alpha-to-Beta', application: 'A', revision: 2, decision: 'approved' as const },
      ];
      expect(decide(snapshot({ ...manual, promotionApprovals: approvals }), NOW).kind).toBe('awaiting-approval');
    });

    it('reports a rejection with who decided', () => {
      const approvals = [
        {
          promotion: 'Beta-to-Prod',
          application: 'A',
          revision: 2,
          decision: 'rejected' as const,
          decidedBy: 'ops@example.com',
        },
      ];
      const d = decide(snapshot({ ...manual, promotionApprovals: approvals }), NOW);
      expect(d).toMatchObject({ kind: 'rejected', revision: 2 });
      expect(d.reason).toContain('rejected for Prod by ops@example.com');
    });
  });

  it('waits for the window with the next opening in the window time zone', () => {
    const d = decide(snapshot({ destination: { windows: [nightWindow] } }), NOW);
    expect(d).toMatchObject({ kind: 'wait-window', revision: 2, until: Date.parse('2024-01-03T22:00:00Z') });
    expect(d.reason).toBe(
      'A r2 waits for a deploy window of Prod: the next opens Wed 2024-01-03 22:00 Europe/London (Mon-Fri 22:00-04:00 Europe/London).',
    );
  });

  it('deploys inside the window', () => {
    expect(decide(snapshot({ destination: { windows: [nightWindow] } }), Date.parse('2024-01-03T23:00:00Z')).kind).toBe(
      'deploy',
    );
  });

  it('is blocked by a lock another execution holds, until its lease ends', () => {
    const lock = {
      environment: 'Prod',
      owner: 'Beta-to-Prod-B-r7',
      acquiredAt: 0,
      leaseExpiresAt: NOW + 3_600_000,
      fencingToken: 4,
    };
    const d = decide(snapshot({ destination: { lock } }), NOW);
    expect(d).toMatchObject({
      kind: 'blocked-by-lock',
      revision: 2,
      owner: 'Beta-to-Prod-B-r7',
      until: NOW + 3_600_000,
    });
    expect(d.reason).toBe(
      'Prod is locked by Beta-to-Prod-B-r7 until 2024-01-03T13:00:00Z at the latest, so A r2 waits.',
    );
  });

  it('ignores a lock whose lease expired', () => {
    const lock = { environment: 'Prod', owner: 'crashed', acquiredAt: 0, leaseExpiresAt: NOW, fencingToken: 4 };
    expect(decide(snapshot({ destination: { lock } }), NOW).kind).toBe('deploy');
  });

  it('checks the window before the lock: a closed window is the reason to wait', () => {
    const lock = { environment: 'Prod', owner: 'other', acquiredAt: 0, leaseExpiresAt: NOW + 1, fencingToken: 1 };
    expect(decide(snapshot({ destination: { lock, windows: [nightWindow] } }), NOW).kind).toBe('wait-window');
  });

  describe('automation off', () => {
    const off = { pipeline: { enabled: true, automation: false } };

    it('starts nothing but says what it would do', () => {
      const d = decide(snapshot(off), NOW);
      expect(d).toMatchObject({ kind: 'automation-off', revision: 2 });
      expect(d.reason).toBe(
        'Automation is off, so nothing starts; with it on: deploy A r2 to Prod (first deploy) as execution Beta-to-Prod-A-r2.',
      );
    });

    it('includes the wait it would make', () => {
      const d = decide(snapshot({ ...off, destination: { windows: [nightWindow] } }), NOW);
      expect(d.kind).toBe('automation-off');
      expect(d.reason).toContain('waits for a deploy window of Prod');
    });

    it('still reports in-sync and already-started, which automation does not change', () => {
      expect(
        decide(
          snapshot({ ...off, destination: { applications: { A: { current: deployed('A', 2), approved: [] } } } }),
          NOW,
        ).kind,
      ).toBe('in-sync');
      expect(decide(snapshot({ ...off, startedExecutions: ['Beta-to-Prod-A-r2'] }), NOW).kind).toBe('already-started');
    });
  });

  it('describes an application-source promotion without mentioning approval', () => {
    const d = decide(snapshot({ promotion: { from: { application: 'A' }, id: 'A-to-Prod' }, candidates: [] }), NOW);
    expect(d.reason).toBe('Nothing to promote to Prod: no revision of A has been built yet.');
  });
});
