import fc from 'fast-check';
import type { Fault, SimulateOptions } from '@medals/core';
import { Simulation, SeededRandom, randomFaults, simulate } from '@medals/core';
import { pinger } from './pinger';

function options(seed: number, extra: Partial<SimulateOptions> = {}): SimulateOptions {
  return {
    seed,
    nodes: 4,
    plugins: [pinger()],
    conditions: { latency: { min: 1, max: 20 }, loss: 0.1, duplicate: 0.05, reorder: 0.1 },
    durationMs: 3_000,
    ...extra,
  };
}

describe('the simulator', () => {
  it('gives the same history, byte for byte, for the same seed', async () => {
    const faults: Fault[] = [
      { at: 500, type: 'crash', node: 'n2' },
      { at: 900, type: 'partition', groups: [['n1'], ['n3', 'n4']] },
      { at: 1500, type: 'heal' },
      { at: 2000, type: 'restart', node: 'n2' },
    ];
    const first = await simulate(options(1234, { faults }));
    const second = await simulate(options(1234, { faults }));
    expect(first.history.length).toBeGreaterThan(50);
    expect(second.history.serialize()).toBe(first.history.serialize());
    expect(second.history.digest()).toBe(first.history.digest());
  });

  it('gives different histories for different seeds', async () => {
    const a = await simulate(options(1));
    const b = await simulate(options(2));
    expect(a.history.digest()).not.toBe(b.history.digest());
  });

  it('replays the same history for any seed (property, 25 seeds)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const faults = randomFaults(new SeededRandom(seed), {
          nodes: ['n1', 'n2', 'n3', 'n4'],
          untilMs: 800,
        });
        const one = await simulate(options(seed, { faults, durationMs: 1_000 }));
        const two = await simulate(options(seed, { faults, durationMs: 1_000 }));
        expect(two.history.serialize()).toBe(one.history.serialize());
      }),
      { numRuns: 25 },
    );
  });

  it('runs on virtual time: a minute of cluster time passes without waiting', async () => {
    const { history, simulation } = await simulate(
      options(7, { durationMs: 60_000, conditions: { latency: 5 } }),
    );
    expect(simulation.now).toBe(60_000);
    const pongs = history.events('pinger:pong');
    // 4 nodes ping every 100 ms; each answer takes 2 x 5 ms, so the pings sent at 60 s are still in flight.
    expect(pongs).toHaveLength(4 * 599);
    expect(new Set(pongs.map((p) => (p.data as { rttMs: number }).rttMs))).toEqual(new Set([10]));
  });

  it('records injected faults, and a crashed node neither answers nor reports until it restarts', async () => {
    const faults: Fault[] = [
      { at: 1_000, type: 'crash', node: 'n1' },
      { at: 2_000, type: 'restart', node: 'n1' },
    ];
    const { history } = await simulate(
      options(3, { faults, conditions: { latency: 1 }, durationMs: 3_000 }),
    );
    expect(history.events('sim:crash')).toEqual([
      { at: 1_000, node: 'sim', event: 'sim:crash', data: { node: 'n1' } },
    ]);
    expect(history.events('sim:restart').map((e) => e.at)).toEqual([2_000]);
    const during = history.entries.filter((e) => e.at > 1_000 && e.at < 2_000);
    expect(during.some((e) => e.node === 'n1')).toBe(false);
    const lostToN1 = during.filter(
      (e) => e.event === 'pinger:lost' && (e.data as { to: string }).to === 'n1',
    );
    expect(lostToN1.length).toBeGreaterThan(0);
    expect(lostToN1.every((e) => (e.data as { reason: string }).reason === 'TimeoutError')).toBe(
      true,
    );
    expect(
      history.entries.some((e) => e.at > 2_000 && e.node === 'n1' && e.event === 'pinger:pong'),
    ).toBe(true);
    expect(history.events('node:started', 'n1')).toHaveLength(2);
  });

  it('stops messages across a partition and resumes them after the heal', async () => {
    const sim = new Simulation(options(5, { conditions: { latency: 1 } }));
    await sim.start();
    sim.partition(['n1', 'n2'], ['n3', 'n4']);
    await sim.runFor(1_000);
    const crossed = (from: number, to: number) =>
      sim.history.entries.filter((e) => {
        if (e.event !== 'pinger:pong' || e.at < from || e.at > to) return false;
        const { from: a, to: b } = e.data as { from: string; to: string };
        return ['n1', 'n2'].includes(a) !== ['n1', 'n2'].includes(b);
      });
    expect(crossed(0, 1_000)).toHaveLength(0);
    sim.heal();
    await sim.runFor(1_000);
    expect(crossed(1_001, 2_000).length).toBeGreaterThan(0);
    await sim.stop();
  });

  it('gives nodes the clock offsets it was asked for, on the virtual epoch', async () => {
    const sim = new Simulation({
      seed: 1,
      nodes: ['a', 'b'],
      clocks: { a: { offsetMs: 2_000 }, b: { offsetMs: -1_000, driftPpm: 100 } },
    });
    await sim.start();
    await sim.runFor(10_000);
    expect(sim.node('a').clock.now() - (sim.epochMs + 10_000)).toBeCloseTo(2_000, 6);
    expect(sim.node('b').clock.now() - (sim.epochMs + 10_000)).toBeCloseTo(-1_000 + 1, 6);
    await sim.stop();
  });
});
