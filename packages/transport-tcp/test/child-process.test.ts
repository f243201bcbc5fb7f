import type { ChildProcessByStdio } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PeerUnreachableError } from '@medals/core';
import { TcpTransport } from '@medals/transport-tcp';
import { connected } from './helpers/wait';

const PACKAGE = join(__dirname, '..');
const FIXTURE = join(__dirname, 'fixtures', 'peer.js');
const SECRET = 'a secret shared with the child process, long and random enough';

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Builds the package when its dist is missing or older than its sources: the child loads the built code. */
function ensureBuilt(): void {
  const stale = readdirSync(join(PACKAGE, 'src')).some((file) => {
    const built = join(PACKAGE, 'dist', file.replace(/\.ts$/, '.js'));
    return (
      !existsSync(built) || statSync(built).mtimeMs < statSync(join(PACKAGE, 'src', file)).mtimeMs
    );
  });
  if (stale) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', PACKAGE], {
      stdio: 'inherit',
    });
  }
}

describe('TcpTransport with a peer in another process', () => {
  const children: Child[] = [];
  let parent: TcpTransport;

  /** Starts the child peer and resolves with its address once it listens. */
  async function startChild(listen: string): Promise<{ child: Child; address: string }> {
    // The parent is in the child's peer table: with a secret, only known peers may dial in.
    const peers = `parent=${parent.address}`;
    const child = spawn(process.execPath, [FIXTURE, 'child', listen, SECRET, peers], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const end = stdout.indexOf('\n');
        if (end >= 0) resolve((JSON.parse(stdout.slice(0, end)) as { address: string }).address);
      });
      child.once('exit', (code) =>
        reject(new Error(`child exited with ${code} before listening: ${stderr}`)),
      );
    });
    return { child, address };
  }

  function exited(child: Child): Promise<void> {
    return child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => child.once('exit', () => resolve()));
  }

  beforeAll(() => ensureBuilt(), 120_000);

  beforeEach(async () => {
    parent = new TcpTransport({
      nodeId: 'parent',
      secret: SECRET,
      reconnectDelayMs: 50,
      maxReconnectDelayMs: 400,
    });
    parent.handle('square', (n: number) => n * n);
    await parent.start();
  });

  afterEach(async () => {
    await parent.stop();
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
  });

  it('exchanges 10,000 requests with it, each answered with its own reply, and serves its requests', async () => {
    const { address } = await startChild('127.0.0.1:0');
    parent.addPeer('child', address);
    const total = 10_000;
    let next = 0;
    let matched = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const reply = await parent.request<{ i: number; text: string; at: Date }>('child', 'echo', {
          i,
          text: `request ${i}`,
          at: new Date(i),
        });
        if (reply.i === i && reply.text === `request ${i}` && reply.at.getTime() === i)
          matched += 1;
      }
    };
    await Promise.all(Array.from({ length: 128 }, worker));
    expect(matched).toBe(total);

    const count = 1000;
    const sumOfSquares = ((count - 1) * count * (2 * count - 1)) / 6;
    await expect(
      parent.request(
        'child',
        'call',
        { peer: 'parent', address: parent.address, count },
        { timeoutMs: 20_000 },
      ),
    ).resolves.toBe(sumOfSquares);
  });

  it('fails pending requests with PeerUnreachableError when the child is SIGKILLed, and reconnects to it restarted', async () => {
    const { child, address } = await startChild('127.0.0.1:0');
    parent.addPeer('child', address);
    await parent.request('child', 'echo', 'warm up');
    // Far longer timeouts than the test's own: only a prompt failure can settle them in time.
    const pending = Array.from({ length: 100 }, (_, i) =>
      parent.request('child', 'hang', i, { timeoutMs: 120_000 }).catch((err: unknown) => err),
    );
    await parent.request('child', 'echo', 'the hangs are in');
    child.kill('SIGKILL');
    const failures = await Promise.all(pending);
    expect(failures.every((failure) => failure instanceof PeerUnreachableError)).toBe(true);
    await exited(child);

    const reconnected = connected(parent, 'child');
    await startChild(address);
    await reconnected;
    await expect(parent.request('child', 'echo', { back: true })).resolves.toEqual({ back: true });
  });
});
