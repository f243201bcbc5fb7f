import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTallyStore } from '@medals/core';
import { goldOf, requireBuiltCli, startClusterProcess } from './support';

jest.setTimeout(90_000);

/**
 * Tallies persist between runs of `medals cluster` (the file store is
 * the default), and `--fresh` starts from zero, saying first what it empties.
 */
describe('medals cluster --fresh', () => {
  let dataDir: string;

  beforeAll(async () => {
    requireBuiltCli();
    dataDir = mkdtempSync(join(tmpdir(), 'medals-fresh-'));
    // What an earlier run left: one gold for Gaul.
    const earlier = new FileTallyStore({ directory: dataDir });
    await earlier.start();
    await earlier.incrementMedal('Gaul', 'gold', 'an-earlier-run');
    await earlier.stop();
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps the tallies of an earlier run without it', async () => {
    const cluster = await startClusterProcess(['--port', '0', '--data-dir', dataDir]);
    try {
      expect(await goldOf(cluster.file.frontEnds[0].url)).toBe(1);
      expect(cluster.output()).not.toContain('--fresh');
    } finally {
      await cluster.stop();
    }
  });

  it('starts from empty tallies with it, after saying what it empties', async () => {
    const cluster = await startClusterProcess(['--port', '0', '--data-dir', dataDir, '--fresh']);
    try {
      expect(await goldOf(cluster.file.frontEnds[0].url)).toBe(0);
      expect(cluster.output()).toMatch(
        /launcher +--fresh: emptying the file store in .*medals-fresh-/,
      );
    } finally {
      await cluster.stop();
    }
  });
});
