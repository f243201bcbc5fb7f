import { spawn } from 'node:child_process';
import { CpuMeter, readProcessCpuTime } from '@medals/loadgen';
import { parseProcStat } from '../src/process-cpu';

const linux = process.platform === 'linux';

describe('CPU per request', () => {
  it('reads utime and stime past a command name holding spaces and parentheses', () => {
    const line = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 96 0 0 20 0 11 0 5';
    expect(parseProcStat(line)).toEqual({ userTicks: 731, systemTicks: 96 });
    expect(() => parseProcStat('4242 (x) S 1')).toThrow(/utime and stime/);
  });

  (linux ? it : it.skip)(
    'divides the CPU time a process used during the run by the requests',
    async () => {
      // A process that burns 300 ms of CPU when told to, then says so.
      const burn = `process.on('message', () => {
        const start = process.cpuUsage();
        for (;;) { const used = process.cpuUsage(start); if (used.user + used.system >= 300000) break; }
        process.send('done');
      });`;
      const child = spawn(process.execPath, ['-e', burn], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      try {
        await new Promise((resolve) => child.once('spawn', resolve));
        const meter = CpuMeter.start([{ pid: child.pid as number, label: 'burner' }]);
        const done = new Promise((resolve) => child.once('message', resolve));
        child.send('go');
        await done;
        const [burner] = meter.stop(100);
        expect(burner.label).toBe('burner');
        expect(burner.cpuMs).toBeGreaterThanOrEqual(250);
        expect(burner.cpuMs).toBeLessThan(5_000);
        expect(burner.cpuMs).toBeCloseTo(burner.userMs + burner.systemMs, 6);
        expect(burner.usPerRequest).toBeCloseTo((burner.cpuMs * 1000) / 100, 6);
        expect(() => meter.stop(0)).toThrow(RangeError);
      } finally {
        child.kill();
      }
    },
  );

  (linux ? it : it.skip)('names the process it cannot read', () => {
    expect(() => readProcessCpuTime(2 ** 30)).toThrow(`process ${2 ** 30}`);
  });
});
