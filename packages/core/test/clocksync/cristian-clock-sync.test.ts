import type { CristianClockSync } from '@medals/core';
import {
  CristianMessages,
  LifecycleError,
  NotLeaderError,
  Simulation,
  cristian,
  staticLeader,
} from '@medals/core';
import { clockSync, noLeader, settle, spread } from './support/clock-sync-cluster';

const HOUR = 3_600_000;

describe('CristianClockSync', () => {
  /**
   * The server's answers are slow for the first three requests only (40 ms
   * back, 1 ms there), so those samples misjudge the server's time by about
   * 20 ms; later ones take 1 ms each way.
   */
  async function slowAnswersFirst(samples: number): Promise<{ sim: Simulation; errorMs: number }> {
    const sim = new Simulation({
      seed: 3,
      nodes: ['n1', 'n2'],
      plugins: [staticLeader('n1'), cristian({ samples, intervalMs: HOUR, timeoutMs: 100 })],
      clocks: { n1: { offsetMs: 0 }, n2: { offsetMs: 5_000 } },
      conditions: { latency: 1 },
    });
    let answers = 0;
    sim.network.setLink('n1', 'n2', { latency: () => (++answers <= 3 ? 40 : 1) }, { oneWay: true });
    await sim.start();
    await sim.runUntil(() => clockSync(sim, 'n2').lastReport !== undefined, 1_000);
    return { sim, errorMs: sim.clocks.get('n2')!.offsetMs - sim.clocks.get('n1')!.offsetMs };
  }

  it('keeps the answer with the smallest round trip', async () => {
    const { sim, errorMs } = await slowAnswersFirst(5);
    expect(Math.abs(errorMs)).toBeLessThan(1e-3);
    expect(clockSync(sim, 'n2').lastReport!.nodes.find((n) => n.node === 'n2')?.rttMs).toBeCloseTo(
      2,
      6,
    );
    await sim.stop();

    // With one sample, the slow answer is all there is: half its asymmetry becomes error.
    const single = await slowAnswersFirst(1);
    expect(single.errorMs).toBeCloseTo(-19.5, 3);
    await single.sim.stop();
  });

  it('synchronises with a fixed server without any election', async () => {
    const sim = new Simulation({
      seed: 4,
      nodes: 3,
      plugins: [cristian({ server: 'n2', intervalMs: HOUR, timeoutMs: 100 })],
      clocks: { n1: { offsetMs: -700 }, n2: { offsetMs: 1_234 }, n3: { offsetMs: 99 } },
      conditions: { latency: { min: 1, max: 2 } },
    });
    await sim.start();
    await sim.runFor(500);
    expect((clockSync(sim, 'n1') as CristianClockSync).server).toBe('n2');
    expect(sim.clocks.get('n2')!.offsetMs).toBe(1_234);
    expect(spread(sim)).toBeLessThanOrEqual(1);
    const report = await settle(sim, clockSync(sim, 'n2').syncOnce());
    // The server has nobody to ask: its report says it is where it is.
    expect(report.nodes).toEqual([
      {
        node: 'n2',
        offsetBeforeMs: 0,
        offsetAfterMs: 0,
        rttMs: undefined,
        deltaMs: undefined,
        outlier: false,
      },
    ]);
    await sim.stop();
  });

  it('rejects syncOnce with NotLeaderError when there is no server', async () => {
    const sim = new Simulation({ seed: 1, nodes: 2, plugins: [noLeader(), cristian()] });
    await sim.start();
    await expect(clockSync(sim, 'n1').syncOnce()).rejects.toBeInstanceOf(NotLeaderError);
    await sim.stop();
  });

  it('tells a member asking a node that is not the server so, without treating it as bad input', async () => {
    const sim = new Simulation({
      seed: 5,
      nodes: 3,
      plugins: [staticLeader('n1'), cristian({ intervalMs: HOUR })],
    });
    await sim.start();
    await expect(
      settle(sim, sim.node('n3').transport.request('n2', CristianMessages.time, {})),
    ).rejects.toMatchObject({ remoteCode: NotLeaderError.code });
    expect(sim.history.events('node:error')).toEqual([]);
    await sim.stop();
  });

  it('refuses to start without a server or an election, or with a server outside the group', async () => {
    for (const plugin of [cristian(), cristian({ server: 'n9' }), cristian({ samples: 0 })]) {
      const sim = new Simulation({ seed: 1, nodes: 2, plugins: [plugin] });
      await expect(sim.start()).rejects.toBeInstanceOf(LifecycleError);
      await sim.stop();
    }
  });
});
