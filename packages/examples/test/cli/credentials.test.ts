import { spawn } from 'node:child_process';
import { derivePeerKeys, formatPeerKeys, parsePeerKeys } from '@medals/core';
import { nodeArgs } from '../../src/cli/node-process-group';
import { nodeProcessEnv } from '../../src/cli/service-flags';
import { cliPath, requireBuiltCli, testOptions } from './support';

/** The environment of a `medals node` started by hand: this one's, without any credentials. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MEDALS_CACOFONIX_TOKEN: 'a token', ...extra };
  for (const name of ['MEDALS_SECRET', 'MEDALS_PEER_KEYS']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/**
 * Runs `medals node` with `args` until it exits, or until it prints `readyLine`
 * (it is then stopped with SIGTERM); resolves with its exit code and output.
 */
function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyLine?: RegExp,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(process.execPath, [cliPath, 'node', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      if (readyLine !== undefined && readyLine.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('medals node without credentials', () => {
  beforeAll(requireBuiltCli);

  it.each([
    ['a front-end', ['--role', 'frontend', '--id', 'fe1', '--peers', 'db=tcp://127.0.0.1:1']],
    [
      'a db with front-ends',
      ['--role', 'db', '--id', 'db', '--store', 'memory', '--peers', 'fe1=tcp://127.0.0.1:1'],
    ],
  ])('refuses to start %s, saying what to set', async (_, args) => {
    const { code, output } = await runNode(args, bareEnv());
    expect(code).toBe(2);
    expect(output).toMatch(/talks to other nodes, so it needs credentials/);
    expect(output).toMatch(/MEDALS_SECRET .* MEDALS_PEER_KEYS .* --insecure/);
    expect(output).toContain('(see medals node --help)');
    expect(output).not.toContain('usage: medals node');
  });

  it('refuses a dispatcher that could only take registrations', async () => {
    const { code, output } = await runNode(
      ['--role', 'dispatcher', '--id', 'dispatcher'],
      bareEnv(),
    );
    expect(code).toBe(2);
    expect(output).toMatch(
      /needs front-ends \(--front-ends\), or credentials .* MEDALS_SECRET or MEDALS_PEER_KEYS/,
    );
  });

  it('refuses a front-end that registers with a dispatcher it has no key for, even --insecure', async () => {
    const keys = formatPeerKeys(derivePeerKeys('a cluster secret', 'fe1', ['db']));
    const { code, output } = await runNode(
      [
        '--role',
        'frontend',
        '--id',
        'fe1',
        '--peers',
        'db=tcp://127.0.0.1:1',
        '--dispatcher',
        'http://127.0.0.1:1',
        '--insecure',
      ],
      bareEnv({ MEDALS_PEER_KEYS: keys }),
    );
    expect(code).toBe(2);
    expect(output).toMatch(/MEDALS_PEER_KEYS with an entry for dispatcher/);
  });

  it('refuses both kinds of credentials at once, and malformed peer keys without showing them', async () => {
    const keys = formatPeerKeys(derivePeerKeys('a cluster secret', 'db', ['fe1']));
    const both = await runNode(
      ['--role', 'db', '--id', 'db', '--store', 'memory'],
      bareEnv({ MEDALS_SECRET: 'a cluster secret', MEDALS_PEER_KEYS: keys }),
    );
    expect(both.code).toBe(2);
    expect(both.output).toMatch(/set MEDALS_SECRET or MEDALS_PEER_KEYS, not both/);
    const malformed = await runNode(
      ['--role', 'db', '--id', 'db', '--store', 'memory'],
      bareEnv({ MEDALS_PEER_KEYS: 'fe1=c2hvcnQ' }),
    );
    expect(malformed.code).toBe(2);
    expect(malformed.output).toMatch(/MEDALS_PEER_KEYS: malformed peer key entry for "fe1"/);
    expect(malformed.output).not.toContain('c2hvcnQ');
  });

  it('starts a db with front-ends when --insecure says the network is trusted, or with its peer keys', async () => {
    const args = [
      '--role',
      'db',
      '--id',
      'db',
      '--store',
      'memory',
      '--peers',
      'fe1=tcp://127.0.0.1:1',
    ];
    const insecure = await runNode([...args, '--insecure'], bareEnv(), /db ready/);
    expect(insecure).toMatchObject({
      code: 0,
      output: expect.stringMatching(/db ready: nodes tcp:/),
    });
    const keys = formatPeerKeys(derivePeerKeys('a cluster secret', 'db', ['fe1']));
    const keyed = await runNode(args, bareEnv({ MEDALS_PEER_KEYS: keys }), /db ready/);
    expect(keyed).toMatchObject({ code: 0, output: expect.stringMatching(/db ready: nodes tcp:/) });
  });
});

describe('the environment and arguments of a launched node', () => {
  it('carry its own peer keys by environment only, and none of the credentials the launcher holds', () => {
    const peerKeys = derivePeerKeys('the cluster secret', 'fe1', ['db', 'fe2', 'dispatcher']);
    const options = testOptions({ peerKeys });
    const env = nodeProcessEnv(options, {
      PATH: '/usr/bin',
      MEDALS_SECRET: 'the launcher holds the cluster secret',
      MEDALS_PEER_KEYS: 'launcher=a-key-of-the-launcher-itself',
    });
    expect(env.MEDALS_SECRET).toBeUndefined();
    expect(env.PATH).toBe('/usr/bin');
    const given = parsePeerKeys(env.MEDALS_PEER_KEYS ?? '');
    expect(
      Object.fromEntries(Object.entries(given).map(([id, key]) => [id, key.toString('base64url')])),
    ).toEqual(peerKeys);
    const args = nodeArgs(
      { role: 'frontend', id: 'fe1', peers: { db: 'tcp://127.0.0.1:1' } },
      options,
      'info',
    ).join(' ');
    for (const key of Object.values(peerKeys)) expect(args).not.toContain(key);
    expect(args).not.toContain(options.token);
  });

  it('carry the cluster secret by environment to a node given the secret itself', () => {
    const env = nodeProcessEnv(testOptions({ secret: 'a secret for a node started so' }), {});
    expect(env).toMatchObject({ MEDALS_SECRET: 'a secret for a node started so' });
    expect(env.MEDALS_PEER_KEYS).toBeUndefined();
  });
});
