import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, requireBuiltCli } from './support';

jest.setTimeout(90_000);

function evaluate(
  out: string,
  ...args: string[]
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(process.execPath, [cliPath, 'eval', ...args, '--quick', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('medals eval', () => {
  let out: string;

  beforeAll(() => {
    requireBuiltCli();
    out = mkdtempSync(join(tmpdir(), 'medals-eval-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('latency writes the table of Table 1 beside the report, and an SVG chart', async () => {
    const run = await evaluate(out, 'latency');
    expect(run).toMatchObject({ code: 0 });
    const markdown = readFileSync(join(out, 'latency.md'), 'utf8');
    for (const clients of [5, 8, 10])
      expect(markdown).toMatch(new RegExp(`^\\| ${clients} \\| \\d+\\.\\d{3} \\|`, 'm'));
    expect(markdown).toContain('| 0.41 | 0.55 |');
    const svg = readFileSync(join(out, 'latency.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('two-tier');
    expect(svg).toContain('p99');
    // Where the load came from and how processes were placed, and what the servers cost.
    expect(markdown).toContain('Load from `@medals/loadgen`');
    expect(markdown).toContain('not pinned');
    expect(markdown).toMatch(/^\| 10 \|( [\d.]+ \|){9}/m);
  });

  it('balance puts each of 20 clients on a front-end and says how many requests each front-end served', async () => {
    const run = await evaluate(out, 'balance');
    expect(run).toMatchObject({ code: 0 });
    const markdown = readFileSync(join(out, 'balance.md'), 'utf8');
    expect(markdown).toMatch(/^\| 1 \| \d+\.\d{3} \|.* \| 20 \| 2000 \|$/m);
    // Each of the 20 clients is on one front-end, and made its 100 requests there.
    const two = /^\| 2 \| \d+\.\d{3} \|.* \| (\d+) \/ (\d+) \| (\d+) \/ (\d+) \|$/m.exec(markdown);
    expect(two).not.toBeNull();
    const [clients1, clients2, requests1, requests2] = (two ?? []).slice(1).map(Number);
    expect(clients1 + clients2).toBe(20);
    expect([requests1, requests2]).toEqual([clients1 * 100, clients2 * 100]);
    expect(markdown).toContain('Load from `@medals/loadgen`');
    expect(readFileSync(join(out, 'balance.svg'), 'utf8')).toContain('<svg');
  });

  it('raffle finds the same entries and winners on both front-ends', async () => {
    const run = await evaluate(out, 'raffle');
    expect(run).toMatchObject({ code: 0 });
    const markdown = readFileSync(join(out, 'raffle.md'), 'utf8');
    expect(markdown).toContain('**The raffles of the front-ends are identical.**');
    expect(markdown).toContain('Expected entries: 10;');
    expect(markdown).not.toContain('| NO');
    expect(readFileSync(join(out, 'raffle.svg'), 'utf8')).toContain('<svg');
  });

  it("refuses soak's flags with another experiment, and a soak's warm-up as long as the run", async () => {
    const misplaced = await evaluate(out, 'latency', '--rate', '500');
    expect(misplaced.code).toBe(2);
    expect(misplaced.output).toContain('--rate is for soak only');
    const warmUp = await evaluate(out, 'soak', '--minutes', '1', '--warm-up', '60');
    expect(warmUp.code).toBe(2);
    expect(warmUp.output).toContain('--warm-up must be shorter than the run');
    expect(warmUp.output).toContain('(see medals eval --help)');
  });

  it('refuses an unknown experiment in one line with a hint to --help', async () => {
    const run = await evaluate(out, 'speed');
    expect(run.code).toBe(2);
    expect(run.output).toBe('medals eval: no experiment speed (see medals eval --help)\n');
  });
});
