import fc from 'fast-check';
import type { NodeId, Plugin } from '@medals/core';
import { Simulation, berkeley, cristian, staticLeader } from '@medals/core';
import { clockSync, spread } from './support/clock-sync-cluster';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';

jest.setTimeout(PROPERTY_TIMEOUT_MS);

const HOUR = 3_600_000;
const MAX_DRIFT_PPM = 100;
/** Rounding of clock readings near 2026 in ms (a double's step there is about 2.4e-4 ms). */
const FLOAT_SLACK_MS = 1e-3;

/** A cluster, its links and its clocks, as fast-check draws them. */
const clusterArb = fc.record({
  seed: fc.integer(),
  size: fc.integer({ min: 3, max: 5 }),
  minLatencyMs: fc.double({ min: 0, max: 5, noNaN: true }),
  jitterMs: fc.double({ min: 0, max: 5, noNaN: true }),
});

type ClusterSpec = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

function simulation(spec: ClusterSpec, plugins: readonly Plugin[]): Simulation {
  return new Simulation({
    seed: spec.seed,
    nodes: spec.size,
    plugins,
    conditions: {
      latency: { min: spec.minLatencyMs, max: spec.minLatencyMs + spec.jitterMs },
    },
    clocks: (_id, random) => ({
      offsetMs: random.float(-10_000, 10_000),
      driftPpm: random.float(-MAX_DRIFT_PPM, MAX_DRIFT_PPM),
    }),
  });
}

/**
 * The spread a round may leave: the link jitter (each offset estimate is off
 * by at most half of it, either way), plus what two clocks drifting in
 * opposite directions at the largest drift can open up between the first
 * reading and the end of the round.
 */
function bound(spec: ClusterSpec, elapsedMs: number): number {
  return spec.jitterMs + 4 * MAX_DRIFT_PPM * 1e-6 * elapsedMs + FLOAT_SLACK_MS;
}

describe('clock sync properties', () => {
  it('one Berkeley round brings random clocks within the jitter bound of each other', async () => {
    await fc.assert(
      fc.asyncProperty(clusterArb, async (spec) => {
        const sim = simulation(spec, [
          staticLeader('n1'),
          berkeley({ intervalMs: HOUR, pollTimeoutMs: 100, outlierBoundMs: 30_000 }),
        ]);
        await sim.start();
        try {
          const done = await sim.runUntil(
            () => clockSync(sim, 'n1').lastReport !== undefined,
            1_000,
          );
          expect(done).toBe(true);
          expect(clockSync(sim, 'n1').lastReport!.nodes).toHaveLength(spec.size);
          expect(spread(sim)).toBeLessThanOrEqual(bound(spec, sim.now));
        } finally {
          await sim.stop();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('one Cristian round per node brings random clocks within the jitter bound of each other', async () => {
    await fc.assert(
      fc.asyncProperty(clusterArb, async (spec) => {
        const sim = simulation(spec, [
          staticLeader('n1'),
          cristian({ samples: 3, intervalMs: HOUR, timeoutMs: 100 }),
        ]);
        await sim.start();
        try {
          const clients = sim.ids.filter((id) => id !== 'n1');
          const done = await sim.runUntil(
            () => clients.every((id) => clockSync(sim, id).lastReport !== undefined),
            1_000,
          );
          expect(done).toBe(true);
          expect(spread(sim)).toBeLessThanOrEqual(bound(spec, sim.now));
        } finally {
          await sim.stop();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a clock an hour off, leader or not, is corrected and does not move what the others agree on', async () => {
    await fc.assert(
      fc.asyncProperty(
        clusterArb,
        fc.nat(),
        fc.constantFrom(1, -1),
        async (spec, wildIndex, sign) => {
          const ids: NodeId[] = Array.from({ length: spec.size }, (_, i) => `n${i + 1}`);
          const wild = ids[wildIndex % ids.length]!;
          const initial = new Map<NodeId, number>();
          const sim = new Simulation({
            seed: spec.seed,
            nodes: ids,
            plugins: [staticLeader('n1'), berkeley({ intervalMs: HOUR, pollTimeoutMs: 100 })],
            conditions: {
              latency: { min: spec.minLatencyMs, max: spec.minLatencyMs + spec.jitterMs },
            },
            clocks: (id, random) => {
              const offsetMs = random.float(-5_000, 5_000) + (id === wild ? sign * HOUR : 0);
              initial.set(id, offsetMs);
              return { offsetMs };
            },
          });
          await sim.start();
          try {
            await sim.runUntil(() => clockSync(sim, 'n1').lastReport !== undefined, 1_000);
            const report = clockSync(sim, 'n1').lastReport!;
            expect(report.outliers).toEqual([wild]);
            const others = ids.filter((id) => id !== wild);
            const mean = (values: number[]): number =>
              values.reduce((a, b) => a + b, 0) / values.length;
            // Without drift, the clocks kept in the average end on exactly their mean.
            const shift =
              mean(others.map((id) => sim.clocks.get(id)!.offsetMs)) -
              mean(others.map((id) => initial.get(id)!));
            expect(Math.abs(shift)).toBeLessThanOrEqual(FLOAT_SLACK_MS);
            expect(spread(sim)).toBeLessThanOrEqual(spec.jitterMs + FLOAT_SLACK_MS);
          } finally {
            await sim.stop();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
