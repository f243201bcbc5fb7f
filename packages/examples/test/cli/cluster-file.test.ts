import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterFile } from '../../src/cli/cluster-file';
import { writeClusterFile } from '../../src/cli/cluster-file';

const content: ClusterFile = {
  dispatcher: 'http://127.0.0.1:8000',
  dispatcherPid: 1,
  frontEnds: [],
  db: { id: 'db', address: 'tcp://127.0.0.1:7000', pid: 2 },
  launcherPid: 3,
  cacofonixToken: 'a token',
};

describe('writeClusterFile', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'medals-cluster-file-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps .medals/ 0700 and the file 0600, narrowing what an older version left wider', () => {
    const dir = join(root, '.medals');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, 'cluster.json');
    writeFileSync(file, '{}', { mode: 0o644 });
    writeClusterFile(file, content);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('leaves a directory of the user’s own as it is', () => {
    const dir = join(root, 'mine');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    writeClusterFile(join(dir, 'cluster.json'), content);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'cluster.json')).mode & 0o777).toBe(0o600);
  });
});
