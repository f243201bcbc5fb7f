import type { ClockSync } from '@medals/core';
import { Simulation, Tokens, berkeley, staticLeader } from '@medals/core';

// The report's clock experiment: "offset of servers are 2, 1, 7. After first iteration of
// synchronization started by server with offset 2 …". Offsets are seconds from true time.
describe('the report clock demo', () => {
  it('brings clocks 2 s, 1 s and 7 s ahead to their average, 10/3 s, in one Berkeley round', async () => {
    const latency = { min: 1, max: 5 };
    const jitterMs = latency.max - latency.min;
    const sim = new Simulation({
      seed: 2,
      nodes: ['n1', 'n2', 'n3'],
      plugins: [staticLeader('n1'), berkeley({ intervalMs: 60_000 })],
      clocks: { n1: { offsetMs: 2_000 }, n2: { offsetMs: 1_000 }, n3: { offsetMs: 7_000 } },
      conditions: { latency },
    });
    const sync = (id: string): ClockSync => sim.node(id).resolve(Tokens.ClockSync);
    await sim.start();
    // The leader runs its first round as soon as it leads.
    expect(await sim.runUntil(() => sync('n1').lastReport !== undefined, 1_000)).toBe(true);

    const average = (2_000 + 1_000 + 7_000) / 3;
    for (const id of sim.ids) {
      expect(Math.abs(sim.clocks.get(id)!.offsetMs - average)).toBeLessThanOrEqual(jitterMs);
    }
    const report = sync('n1').lastReport!;
    expect(report).toMatchObject({
      round: 1,
      server: 'n1',
      term: 1,
      unreachable: [],
      outliers: [],
    });
    const before = { n1: 2_000 - average, n2: 1_000 - average, n3: 7_000 - average };
    for (const node of report.nodes) {
      const expected = before[node.node as keyof typeof before];
      // Each estimate is off by at most half the jitter; the average carries the mean of those errors.
      expect(Math.abs(node.offsetBeforeMs - expected)).toBeLessThanOrEqual(jitterMs);
      expect(Math.abs(node.deltaMs! + expected)).toBeLessThanOrEqual(jitterMs);
      expect(Math.abs(node.offsetAfterMs!)).toBeLessThanOrEqual(jitterMs);
    }
    expect(sim.history.events('clockAdjusted')).toHaveLength(3);
    await sim.stop();
  });
});
