import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CALIBRATION_GOALS,
  calibrateAgainstWrk,
  startPlainServer,
  wrkInstalled,
} from '@medals/loadgen';
import { parseWrkReport } from '../src/calibration/wrk';

/** Reports of Debian's wrk 4.1.0 (`wrk -t1 -c<N> -d1s`), captured against local node:http servers. */
function wrkReport(name: string): string {
  return readFileSync(join(__dirname, 'fixtures', 'wrk', `wrk-4.1.0-${name}.txt`), 'utf8');
}

describe('parseWrkReport', () => {
  it('reads a report whose latency is in µs', () => {
    expect(parseWrkReport(wrkReport('c1'))).toEqual({
      requests: 17_932,
      durationMs: 1_000,
      throughput: 17_913.23,
      reportedMeanMs: expect.closeTo(0.34203, 9),
      socketErrors: 0,
      non2xx: 0,
    });
  });

  it('reads a report whose latency is in ms', () => {
    expect(parseWrkReport(wrkReport('c10'))).toEqual({
      requests: 19_973,
      durationMs: 1_000,
      throughput: 19_881.76,
      reportedMeanMs: 0.86,
      socketErrors: 0,
      non2xx: 0,
    });
  });

  it('counts socket errors of every kind and non-2xx responses', () => {
    expect(parseWrkReport(wrkReport('errors'))).toMatchObject({
      requests: 17_491,
      socketErrors: 356,
      non2xx: 5_831,
    });
  });

  it('refuses what is not a wrk report', () => {
    expect(() => parseWrkReport('wrk: command not found\n')).toThrow(/unexpected wrk output/);
  });
});

describe('calibrateAgainstWrk', () => {
  // CI installs wrk (.ci/run): there the calibration must run, not skip.
  const runnable = wrkInstalled() || process.env.CI === 'true';

  (runnable ? it : it.skip)(
    'measures both generators against the plain server, and the figures agree with the samples',
    async () => {
      const server = await startPlainServer();
      try {
        const rounds: number[] = [];
        const calibration = await calibrateAgainstWrk({
          url: server.url,
          serverPid: server.pid,
          rounds: 1,
          seconds: 1,
          warmupMs: 0,
          onRound: (_round, index) => rounds.push(index),
        });
        expect(rounds).toEqual([0]);
        expect(calibration.samples).toHaveLength(1);
        const [round] = calibration.samples;
        expect(round.first).toBe('ours');
        for (const sample of [
          round.tenConnections.ours,
          round.tenConnections.wrk,
          round.oneConnection.ours,
          round.oneConnection.wrk,
        ]) {
          expect(sample.throughput).toBeGreaterThan(100);
          expect(sample.meanMs).toBeGreaterThan(0);
          expect(sample.reportedMeanMs).toBeGreaterThan(0);
          expect(sample.generatorCpuUsPerRequest).toBeGreaterThan(0);
          expect(sample.serverCpuUsPerRequest).toBeGreaterThan(0);
        }
        // With one round the medians are that round's figures.
        expect(calibration.throughput).toMatchObject({
          ours: round.tenConnections.ours.throughput,
          wrk: round.tenConnections.wrk.throughput,
        });
        expect(calibration.throughput.ratio).toBeCloseTo(
          round.tenConnections.ours.throughput / round.tenConnections.wrk.throughput,
          9,
        );
        expect(calibration.latency).toMatchObject({
          ours: round.oneConnection.ours.meanMs,
          wrk: round.oneConnection.wrk.meanMs,
          oursReported: round.oneConnection.ours.reportedMeanMs,
          wrkReported: round.oneConnection.wrk.reportedMeanMs,
        });
        // Little's law at one connection: the mean is the time per request.
        expect(round.oneConnection.ours.meanMs).toBeCloseTo(
          1000 / round.oneConnection.ours.throughput,
          6,
        );
        expect(calibration.serverCpuUsPerRequest.ours).toBe(
          round.tenConnections.ours.serverCpuUsPerRequest,
        );
        expect(calibration.generatorCpuUsPerRequest.wrk).toBe(
          round.tenConnections.wrk.generatorCpuUsPerRequest,
        );
        expect(calibration.goals).toEqual({ throughput: 0.9, latency: 1.1 });
        expect(calibration.goals).toBe(CALIBRATION_GOALS);
        expect(calibration.throughput.met).toBe(calibration.throughput.ratio >= 0.9);
        expect(calibration.latency.met).toBe(calibration.latency.ratio <= 1.1);
        expect(calibration.met).toBe(calibration.throughput.met && calibration.latency.met);
        expect(calibration.placement).toEqual({});
      } finally {
        await server.stop();
      }
    },
  );

  it('refuses bad options before it runs anything', async () => {
    const good = { url: 'http://127.0.0.1:9/', serverPid: process.pid, rounds: 1, seconds: 1 };
    await expect(calibrateAgainstWrk({ ...good, seconds: 0.5 })).rejects.toThrow(
      /seconds must be a positive integer/,
    );
    await expect(calibrateAgainstWrk({ ...good, rounds: 0 })).rejects.toThrow(/rounds/);
    await expect(calibrateAgainstWrk({ ...good, url: 'https://x' })).rejects.toThrow(/http:\/\//);
  });
});
