import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterFile } from '../../src/cli/cluster-file';
import type { ClusterFile } from '../../src/cli/cluster-file';
import { OlympicClient } from '../../src/service';
import { call, cliPath, requireBuiltCli, waitFor } from './support';

jest.setTimeout(60_000);

/** Sends the head and part of the body of a write, then goes away, as a client that crashed would. */
function abortMidBody(frontEnd: string, token: string): Promise<void> {
  const { hostname, port } = new URL(frontEnd);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.end(
        'PUT /incrementMedalTally/Gaul/gold HTTP/1.1\r\nHost: test\r\n' +
          `Authorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\n{"partial":`,
      );
    });
    socket.on('error', () => undefined);
    // Read whatever comes back, so that the server's end is seen and the socket closes.
    socket.resume();
    socket.once('close', () => resolve());
  });
}

describe('medals cluster at --log-level debug', () => {
  const token = randomBytes(18).toString('base64url');
  let dir: string;
  let cluster: ChildProcess;
  let output = '';
  let file: ClusterFile;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'medals-debug-log-'));
    cluster = spawn(
      process.execPath,
      [cliPath, 'cluster', '--port', '0', '--store', 'memory', '--log-level', 'debug'],
      {
        cwd: dir,
        env: { ...process.env, MEDALS_CACOFONIX_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cluster.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cluster.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const path = join(dir, '.medals/cluster.json');
    file = await waitFor('the cluster file', () =>
      existsSync(path) ? readClusterFile(path) : undefined,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
  });

  afterAll(async () => {
    if (cluster.exitCode === null) {
      cluster.kill('SIGKILL');
      await new Promise((resolve) => cluster.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes no line holding the token, and none of error for a client that went away mid-body', async () => {
    expect(file.cacofonixToken).toBe(token);
    const frontEnd = file.frontEnds[0].url;
    for (const tokenIn of ['header', 'path'] as const) {
      const client = new OlympicClient({
        baseUrl: frontEnd,
        clientId: `by-${tokenIn}`,
        token,
        tokenIn,
      });
      try {
        await client.incrementMedalTally('Gaul', 'gold');
        await client.setScore('Stone Curling', 2, 1);
      } finally {
        client.close();
      }
    }
    // The token where a client should not put it: refused or not found, and logged without it.
    expect((await call('PUT', `${frontEnd}/incrementMedalTaly/Gaul/gold/${token}`)).status).toBe(
      404,
    );
    expect((await call('GET', `${frontEnd}/getScore/Stone%20Curling?token=${token}`)).status).toBe(
      200,
    );
    await abortMidBody(frontEnd, token);
    // The clients ask the dispatcher and write through it, with the token from the cluster file.
    const bard = spawn(
      process.execPath,
      [
        cliPath,
        'cacofonix',
        '--count',
        '2',
        '--interval',
        '10',
        '--cluster',
        join(dir, '.medals/cluster.json'),
      ],
      { env: { ...process.env, MEDALS_CACOFONIX_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let bardOutput = '';
    bard.stdout.on('data', (chunk: Buffer) => (bardOutput += chunk.toString()));
    bard.stderr.on('data', (chunk: Buffer) => (bardOutput += chunk.toString()));
    expect(await new Promise((resolve) => bard.once('exit', resolve))).toBe(0);
    expect(bardOutput).not.toContain(token);

    // Every request above is in the log (whatever it shows of the path and the status).
    await waitFor('the requests in the debug log', () =>
      [
        /PUT \/incrementMedalTally\/Gaul\/gold (499|500) /,
        /PUT \/incrementMedalTally\/Gaul\/gold\/\S+ 200 /,
        /PUT \/incrementMedalTaly\/\S+ 404 /,
        /GET \/getScore\/Stone%20Curling\S+ 200 /,
      ].every((pattern) => pattern.test(output)),
    );
    cluster.kill('SIGINT');
    expect(await new Promise((resolve) => cluster.once('exit', resolve))).toBe(0);
    expect(output).toContain('every node stopped');
    const lines = output.split('\n');
    expect(lines.filter((line) => line.includes(token))).toEqual([]);
    expect(lines.filter((line) => /ERROR|ECONNRESET/.test(line))).toEqual([]);
    // The request lines show where the token was, not what it is, and the client gone as 499.
    for (const shown of [
      'PUT /incrementMedalTally/Gaul/gold/… 200',
      'PUT /incrementMedalTaly/… 404',
      'GET /getScore/Stone%20Curling?… 200',
      'PUT /incrementMedalTally/Gaul/gold 499',
    ]) {
      expect(output).toContain(shown);
    }
  });
});
