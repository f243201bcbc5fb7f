import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { History } from '@medals/core';
import { cliPath, requireBuiltCli } from './support';

jest.setTimeout(60_000);

const scenario = [
  '--seed',
  '7',
  '--duration',
  '10',
  '--quiet',
  '4',
  '--raffle-every',
  '10',
  '--raffle-draw-interval',
  '3000',
  '--fault',
  'crash:fe2@2s',
  '--fault',
  'restart:fe2@3500ms',
  '--fault',
  'partition:fe1/fe2,db@4s',
  '--fault',
  'heal@5s',
];

function sim(
  dir: string,
  args: readonly string[],
): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cliPath, 'sim', ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('medals sim', () => {
  let dir: string;
  beforeAll(() => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'medals-sim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a good scenario with faults, prints every verdict ok and exits 0; the same seed gives the same files, byte for byte', () => {
    const first = sim(dir, [...scenario, '--out', 'one']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    for (const property of [
      'integrity',
      'total-order',
      'fifo',
      'agreement',
      'raffle-agreement',
      'one-leader-per-term',
      'leaders-act-alone',
      'clock-residual',
    ]) {
      expect(first.stdout).toMatch(new RegExp(`^ {2}ok +${property} `, 'm'));
    }
    const second = sim(dir, [...scenario, '--out', 'two']);
    expect(second.status).toBe(0);
    const digest = (out: string): string => /digest ([0-9a-f]{64})/.exec(out)![1]!;
    expect(digest(second.stdout)).toBe(digest(first.stdout));
    for (const file of ['history.json', 'diagram.svg', 'diagram.html']) {
      expect(
        readFileSync(join(dir, 'two', file)).equals(readFileSync(join(dir, 'one', file))),
      ).toBe(true);
    }
    const history = History.parse(readFileSync(join(dir, 'one', 'history.json'), 'utf8'));
    expect(history.digest()).toBe(digest(first.stdout));
    expect(history.events('sim:crash')).toHaveLength(1);
    expect(history.events('delivered').length).toBeGreaterThan(50);
    const svg = readFileSync(join(dir, 'one', 'diagram.svg'), 'utf8');
    expect(svg).toContain('class="dlv-g" data-node="fe1" data-seq="1"');
    expect(svg).toContain('split fe1 | fe2,db');
  });

  it('judges a recorded history with a swapped delivery as a total-order violation, exits 1 and names it', () => {
    const good = History.parse(readFileSync(join(dir, 'one', 'history.json'), 'utf8'));
    const entries = good.entries;
    const fe1 = entries.filter((e) => e.node === 'fe1' && e.event === 'delivered');
    const [a, b] = [entries.indexOf(fe1[4]!), entries.indexOf(fe1[5]!)];
    const bad = new History();
    entries.forEach((entry, i) =>
      bad.record(i === a ? entries[b]! : i === b ? entries[a]! : entry),
    );
    writeFileSync(join(dir, 'bad.json'), bad.serialize());
    const swappedAt = (fe1[4]!.data as { seq: number }).seq;

    const checked = sim(dir, ['--check', 'bad.json', '--out', 'bad']);
    expect(checked.status).toBe(1);
    expect(checked.stdout).toMatch(/^ {2}VIOLATED +total-order /m);
    expect(checked.stderr).toContain(
      `medals sim: total-order violated: fe1 delivered ${(fe1[5]!.data as { id: string }).id} at seq ${swappedAt + 1} right after seq ${swappedAt - 1}; expected seq ${swappedAt}`,
    );

    const unchanged = sim(dir, ['--check', join('one', 'history.json'), '--out', 'again']);
    expect(unchanged.status).toBe(0);
  });

  it('exits 1 naming the agreement violation when a partition is never healed', () => {
    const cut = sim(dir, [
      '--duration',
      '10',
      '--quiet',
      '4',
      '--fault',
      'partition:fe1/fe2,db@3s',
      '--out',
      'cut',
    ]);
    expect(cut.status).toBe(1);
    expect(cut.stdout).toMatch(
      /^ {2}VIOLATED +agreement +fe2 delivered fe2:\d+ at seq \d+, but fe1 \(correct\) never delivered it$/m,
    );
    expect(cut.stderr).toMatch(/^medals sim: agreement violated: fe2 delivered /);
  });

  it('refuses a fault it cannot carry out, changing nothing', () => {
    const refused = sim(dir, ['--fault', 'crash:fe9@2s', '--out', 'refused']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(
      'medals sim: fault "crash:fe9@2s" names "fe9", not one of db, fe1, fe2',
    );
    const late = sim(dir, ['--duration', '8', '--fault', 'heal@9s', '--out', 'refused']);
    expect(late.status).toBe(2);
    expect(late.stderr).toContain('a heal fault at 9000 ms is not within the 8 s run');
    expect(() => readFileSync(join(dir, 'refused', 'history.json'))).toThrow();
  });
});
