import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PeerUnreachableError } from '@medals/core';
import type { HttpTransport } from '@medals/transport-http';
import { startTransports, stopTransports } from './support/transports';

const SCRIPT = join(__dirname, 'fixtures', 'peer-process.js');
const BUILT = join(__dirname, '..', 'dist', 'index.js');
const SECRET = 'child process secret';

type PeerMessage = { address?: string; held?: number; failed?: string };

const children: ChildProcess[] = [];

/** Starts the peer, which accepts messages from `a`, in its own node process and resolves with it and its address. */
async function spawnPeer(
  listen: string,
  a: HttpTransport,
): Promise<{ child: ChildProcess; address: string }> {
  const child = fork(SCRIPT, [listen, SECRET, a.address], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const address = await new Promise<string>((resolve, reject) => {
    child.on('message', (message: PeerMessage) => {
      if (message.address) resolve(message.address);
      if (message.failed) reject(new Error(`peer failed to start: ${message.failed}`));
    });
    child.once('exit', (code) => reject(new Error(`peer exited with ${code}`)));
  });
  return { child, address };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

beforeAll(() => {
  if (!existsSync(BUILT)) {
    throw new Error(
      `${BUILT} is missing: build first (npx tsc -b packages/transport-http), as npm test does`,
    );
  }
});

afterEach(async () => {
  await stopTransports();
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await killed(child);
  }
});

describe('a peer in a separate process', () => {
  let a: HttpTransport;

  beforeEach(async () => {
    [a] = (await startTransports({ nodeId: 'a', secret: SECRET })) as [HttpTransport];
  });

  it('answers 10,000 requests, each with its own reply', async () => {
    const { address } = await spawnPeer('127.0.0.1:0', a);
    a.addPeer('child', address);
    const total = 10_000;
    const replies: unknown[] = new Array(total);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < total) {
          const n = next++;
          replies[n] = await a.request('child', 'echo', { n, at: new Date(n) });
        }
      }),
    );
    const pids = new Set<number>();
    replies.forEach((reply, n) => {
      const { payload, from, pid } = reply as { payload: unknown; from: string; pid: number };
      expect({ payload, from }).toEqual({ payload: { n, at: new Date(n) }, from: 'a' });
      pids.add(pid);
    });
    expect([...pids]).not.toContain(process.pid);
    expect(pids.size).toBe(1);
  });

  it('fails pending requests with PeerUnreachableError when the peer is killed, and reaches it again once restarted', async () => {
    const { child, address } = await spawnPeer('127.0.0.1:0', a);
    a.addPeer('child', address);
    await expect(a.request('child', 'echo', 'warm-up')).resolves.toMatchObject({
      payload: 'warm-up',
    });

    const count = 8;
    let heldCount = 0;
    const allHeld = new Promise<void>((resolve) =>
      child.on('message', (message: PeerMessage) => {
        if (message.held !== undefined && ++heldCount === count) resolve();
      }),
    );
    // The timeout is far beyond the test's own: only the peer's death can end these requests in time.
    const pending = Array.from({ length: count }, (_, n) =>
      a.request('child', 'hold', n, { timeoutMs: 120_000 }).catch((err: unknown) => err),
    );
    await allHeld;
    child.kill('SIGKILL');
    const errors = await Promise.all(pending);
    for (const error of errors) expect(error).toBeInstanceOf(PeerUnreachableError);
    await killed(child);

    // The same address, so the client's pooled connections to the dead process must not be reused.
    const restarted = await spawnPeer(new URL(address).host, a);
    expect(restarted.address).toBe(address);
    const reply = (await a.request('child', 'echo', 'again')) as { payload: string; pid: number };
    expect(reply.payload).toBe('again');
    expect(reply.pid).toBe(restarted.child.pid);
  });
});
