import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBuiltCli, spawnCluster } from './support';

jest.setTimeout(90_000);

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * What a newcomer sees of `npm start`: a cluster of real processes, with
 * its defaults, for ten seconds. The log must show who leads, with the
 * winner's own line, and nothing alarming from a healthy start: no ERROR
 * (start-up races are detail), and one line per clock sync round, not one
 * per node. Rounds come every second here, so that there are several to
 * count; what is checked is what was printed, never when.
 */
describe('the log of a ten-second cluster', () => {
  let dir: string;
  let code: number | null;
  let lines: string[];

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'medals-quiet-log-'));
    const run = spawnCluster(dir, [
      '--port',
      '0',
      '--duration',
      '10',
      '--clock-sync-interval',
      '1000',
    ]);
    code = await exited(run.child);
    lines = run.output().split('\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The node a log line is about, and its text: `HH:MM:SS.mmm node  text`. */
  const parsed = (): { node: string; text: string }[] =>
    lines.flatMap((line) => {
      const match = /^\d\d:\d\d:\d\d\.\d{3} (\S+)\s+(.*)$/.exec(line);
      return match === null ? [] : [{ node: match[1], text: match[2] }];
    });

  it('ran and stopped cleanly', () => {
    expect({ code, last: lines.filter(Boolean).at(-1) }).toEqual({
      code: 0,
      last: expect.stringMatching(/launcher +every node stopped$/),
    });
  });

  it('names the leader on every node, the winner included', () => {
    const leaders = new Map<string, string>();
    for (const { node, text } of parsed()) {
      const leader = /^leader is (\S+) \(term \d+\)$/.exec(text)?.[1];
      if (leader !== undefined) leaders.set(node, leader);
    }
    expect([...leaders.keys()].sort()).toEqual(['db', 'fe1', 'fe2']);
    const winner = leaders.get('db') as string;
    expect(leaders.get(winner)).toBe(winner);
  });

  it('has no ERROR line, and no start-up suspicion or leadership race at info', () => {
    const output = lines.join('\n');
    expect(lines.filter((line) => / ERROR /.test(line))).toEqual([]);
    expect(output).not.toMatch(/never heard from|ERR_NOT_LEADER/);
  });

  it('has at most one clock sync line per round, and some rounds', () => {
    // The nodes' lines: the launcher's first line names the clock sync algorithm.
    const clockLines = parsed().filter(
      ({ node, text }) => node !== 'launcher' && /clock/.test(text),
    );
    const roundLine = /^led clock sync round (\d+) with \d+ clocks/;
    expect(clockLines.filter(({ text }) => !roundLine.test(text))).toEqual([]);
    const rounds = clockLines.map(({ node, text }) => `${node} ${roundLine.exec(text)?.[1]}`);
    expect(rounds.length).toBeGreaterThan(1);
    expect(rounds).toEqual([...new Set(rounds)]);
  });
});
