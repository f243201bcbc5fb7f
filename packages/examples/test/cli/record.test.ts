import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { History } from '@medals/core';
import { alive, call, cliPath, startClusterProcess, waitFor } from './support';

jest.setTimeout(90_000);

describe('medals cluster --record, then medals diagram', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medals-record-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records every node's events, deliveries and a killed node's exit and restart, and draws them", async () => {
    const events = join(dir, 'events.jsonl');
    const cluster = await startClusterProcess([
      '--record',
      events,
      '--port',
      '0',
      '--store',
      'memory',
    ]);
    try {
      const { file } = cluster;
      const fe1 = file.frontEnds[0]!.url;
      for (let i = 0; i < 3; i++) {
        const answer = await call('PUT', `${fe1}/incrementMedalTally/Gaul/gold`, {
          headers: { authorization: `Bearer ${file.cacofonixToken}` },
        });
        expect(answer.status).toBe(200);
      }
      // The recording is written as events arrive: fe2 has delivered all three before it dies.
      await waitFor('fe2 to deliver the third request', () =>
        readFileSync(events, 'utf8').includes(
          '"node":"fe2","event":"delivered","data":{"node":"fe2","seq":3',
        ),
      );
      const fe2 = file.frontEnds[1]!;
      process.kill(fe2.pid, 'SIGKILL');
      await waitFor('fe2 to be restarted', () => /fe2 +restarted/.test(cluster.output()), 30_000);
      expect(alive(fe2.pid)).toBe(false);
    } finally {
      await cluster.stop();
    }
    expect(statSync(events).mode & 0o777).toBe(0o600);
    const history = History.parse(readFileSync(events, 'utf8'));
    const nodes = new Set(history.entries.map((e) => e.node));
    expect([...nodes].sort()).toEqual(
      expect.arrayContaining(['db', 'dispatcher', 'fe1', 'fe2', 'launcher']),
    );
    expect(history.events('elected').length).toBeGreaterThan(0);
    // Both front-ends deliver the three requests, at the same positions.
    const positions = (node: string): number[] =>
      history.events('delivered', node).map((e) => (e.data as { seq: number }).seq);
    expect(positions('fe1').slice(0, 3)).toEqual([1, 2, 3]);
    expect(positions('fe2').slice(0, 3)).toEqual([1, 2, 3]);
    expect(history.events('launcher:exit').map((e) => e.data)).toEqual([
      { node: 'fe2', code: null, signal: 'SIGKILL' },
    ]);
    expect(
      history.events('launcher:restarted').map((e) => (e.data as { node: string }).node),
    ).toEqual(['fe2']);

    const drawn = spawnSync(
      process.execPath,
      [cliPath, 'diagram', events, '--out', join(dir, 'drawn')],
      {
        encoding: 'utf8',
      },
    );
    expect(drawn.stderr).toBe('');
    expect(drawn.status).toBe(0);
    const svg = readFileSync(join(dir, 'drawn', 'diagram.svg'), 'utf8');
    for (const lane of ['db', 'dispatcher', 'fe1', 'fe2'])
      expect(svg).toContain(`data-node="${lane}"`);
    expect(svg).toContain('class="dlv-g" data-node="fe2" data-seq="3"');
    expect(svg).toContain('fe2 crashed (SIGKILL)');
    expect(svg).toContain('fe2 restarted');
    expect(readFileSync(join(dir, 'drawn', 'diagram.html'), 'utf8')).toContain('<svg');
  });

  it('refuses a file it cannot write, before starting anything', () => {
    const refused = spawnSync(
      process.execPath,
      [cliPath, 'cluster', '--record', join(dir, 'missing', 'events.jsonl'), '--port', '0'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('medals cluster: --record: cannot write');
    expect(() => statSync(join(dir, '.medals', 'cluster.json'))).toThrow();
  });
});
