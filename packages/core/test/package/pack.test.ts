import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const core = resolve(__dirname, '../..');
const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });

// `npm test` builds first, so dist/ is what gets packed, as for a release.
describe('the packed @medals/core', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'medals-pack-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs into a fresh project and runs a three-node cluster from it', () => {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], core)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const paths = packed!.files.map((f) => f.path);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/testing/index.d.ts');
    expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);

    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
    );
    // Dependencies come from the registry (or npm's cache), as for a user.
    npm(
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed!.filename)],
      app,
    );
    writeFileSync(
      join(app, 'main.js'),
      `
const { MemoryNetwork, createCluster } = require('@medals/core');
const { transportCompliance } = require('@medals/core/testing');
if (typeof transportCompliance !== 'function') throw new Error('testing subpath missing');
(async () => {
  const network = new MemoryNetwork();
  const cluster = createCluster({ nodes: 3, transport: network.factory() });
  await cluster.start();
  for (const node of cluster.nodes.values()) node.transport.handle('who', () => node.id);
  const answers = await Promise.all(cluster.ids.map((id) => cluster.node('n1').transport.request(id === 'n1' ? 'n2' : id, 'who', null)));
  await cluster.stop();
  console.log(JSON.stringify({ answers, states: [...cluster.nodes.values()].map((n) => n.state) }));
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const out = execFileSync('node', ['main.js'], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      answers: ['n2', 'n2', 'n3'],
      states: ['stopped', 'stopped', 'stopped'],
    });
  }, 180_000);
});
