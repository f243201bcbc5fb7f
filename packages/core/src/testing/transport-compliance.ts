/// <reference types="jest" />
import { createHook } from 'node:async_hooks';
import type { Codec } from '../contracts/codec';
import {
  AbortError,
  InvalidMessageError,
  PeerUnreachableError,
  RemoteError,
  TimeoutError,
  TransportClosedError,
} from '../contracts/errors';
import type { MessageContext, Transport } from '../contracts/transport';
import { SuperjsonCodec } from '../codec';

/** How the Transport compliance suite gets transports to test. */
export interface TransportComplianceOptions {
  /**
   * Creates unstarted transports for the given node ids, each using `codec`.
   * The suite starts them, introduces every pair with `addPeer(id, address)`
   * once started, and stops them after each test.
   */
  setup(ids: string[], codec: Codec): Promise<Transport[]> | Transport[];
  /** Called after each test, once its transports were stopped. */
  teardown?(): Promise<void> | void;
}

/** Async resource types that a stopped transport must not leave behind. */
const LEAKABLE = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'PIPESERVERWRAP']);

/** How long a stopped transport's sockets may take to finish closing. */
const RELEASE_LIMIT_MS = 2_000;

/**
 * Watches the timers, sockets and servers created from now on, so a test
 * judges only what its own transports created, not what another test file
 * left behind in the same worker. `left()` waits (up to
 * {@link RELEASE_LIMIT_MS}) for those still closing, then stops watching and
 * lists the types of those not released.
 */
function trackResources(): { left(): Promise<string[]> } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (LEAKABLE.has(type)) live.set(asyncId, type);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    async left() {
      // A closed handle is released in a later phase of the loop, and a socket
      // only once its peer's close arrives; immediates themselves are not watched.
      const deadline = performance.now() + RELEASE_LIMIT_MS;
      while (live.size > 0 && performance.now() < deadline) await nextTick();
      hook.disable();
      return [...live.values()].sort();
    },
  };
}

function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The contract every {@link Transport} must meet, the same for every
 * implementation whatever its network. Call it
 * from an implementation's test file with a `setup` that creates transports;
 * it declares the jest tests.
 *
 * @example
 * ```ts
 * transportCompliance('MemoryNetwork', {
 *   setup: (ids, codec) => { const network = new MemoryNetwork({ codec }); return ids.map((id) => network.transport(id)); },
 * });
 * ```
 */
export function transportCompliance(name: string, options: TransportComplianceOptions): void {
  describe(`${name} meets the Transport contract`, () => {
    const codec = new SuperjsonCodec();
    let live: Transport[] = [];

    async function connect(ids: string[] = ['a', 'b']): Promise<Transport[]> {
      const transports = await options.setup(ids, codec);
      live.push(...transports);
      await Promise.all(transports.map((t) => t.start()));
      for (const t of transports) {
        for (const u of transports) if (t !== u) t.addPeer(u.nodeId, u.address);
      }
      return transports;
    }

    afterEach(async () => {
      await Promise.all(live.map((t) => t.stop()));
      live = [];
      await options.teardown?.();
    });

    it('delivers a one-way message with its type and sender', async () => {
      const [a, b] = await connect();
      const got = deferred<{ payload: unknown; context: MessageContext }>();
      b!.handle('greet', (payload, context) => got.resolve({ payload, context }));
      a!.send('b', 'greet', { hello: 'world' });
      const { payload, context } = await got.promise;
      expect(payload).toEqual({ hello: 'world' });
      expect(context).toMatchObject({ from: 'a', type: 'greet' });
    });

    it('answers a request with the reply of a sync or async handler', async () => {
      const [a, b] = await connect();
      b!.handle('double', (n: number) => n * 2);
      b!.handle('later', async (s: string) => {
        await nextTick();
        return s.toUpperCase();
      });
      await expect(a!.request('b', 'double', 21)).resolves.toBe(42);
      await expect(a!.request('b', 'later', 'abc')).resolves.toBe('ABC');
    });

    it('tells the handler which of several peers sent a request', async () => {
      const [a, b, c] = await connect(['a', 'b', 'c']);
      c!.handle('whoami', (_payload, context) => context.from);
      await expect(a!.request('c', 'whoami', null)).resolves.toBe('a');
      await expect(b!.request('c', 'whoami', null)).resolves.toBe('b');
    });

    it('matches 1,000 concurrent requests each to its own reply', async () => {
      const [a, b] = await connect();
      b!.handle('echo', async (n: number) => {
        // Answer out of order: even numbers wait a turn.
        if (n % 2 === 0) await nextTick();
        return { n, square: n * n };
      });
      const replies = await Promise.all(
        Array.from({ length: 1000 }, (_, n) =>
          a!.request<{ n: number; square: number }>('b', 'echo', n),
        ),
      );
      replies.forEach((reply, n) => expect(reply).toEqual({ n, square: n * n }));
    });

    it('rejects with TimeoutError when no reply comes in time', async () => {
      const [a, b] = await connect();
      b!.handle('never', () => new Promise(() => undefined));
      const error = await a!
        .request('b', 'never', 1, { timeoutMs: 50 })
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).code).toBe('ERR_TIMEOUT');
    });

    it('refuses an unknown peer with PeerUnreachableError', async () => {
      const [a] = await connect();
      await expect(a!.request('nobody', 'ping', 1, { timeoutMs: 1000 })).rejects.toBeInstanceOf(
        PeerUnreachableError,
      );
      expect(() => a!.send('nobody', 'ping', 1)).toThrow(PeerUnreachableError);
    });

    it('gives the caller a RemoteError with the message and code the handler threw', async () => {
      const [a, b] = await connect();
      b!.handle('fail', () => {
        throw Object.assign(new Error('boom: no such team'), { code: 'ERR_UNKNOWN_TEAM' });
      });
      b!.handle('failLater', async () => {
        await nextTick();
        throw new Error('async boom');
      });
      const error = await a!.request('b', 'fail', 1).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).message).toContain('boom: no such team');
      expect((error as RemoteError).remoteCode).toBe('ERR_UNKNOWN_TEAM');
      await expect(a!.request('b', 'failLater', 1)).rejects.toThrow('async boom');
      await expect(a!.request('b', 'fail', 1)).rejects.toBeInstanceOf(RemoteError);
    });

    it('answers a request for a type nobody handles with RemoteError ERR_NO_HANDLER', async () => {
      const [a] = await connect();
      const error = await a!.request('b', 'nothing-here', 1).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).remoteCode).toBe('ERR_NO_HANDLER');
    });

    it('round-trips every codec type both ways', async () => {
      const [a, b] = await connect();
      const payload = {
        date: new Date('2024-08-11T20:00:00.000Z'),
        map: new Map<string, unknown>([
          ['Gaul', { gold: 3 }],
          ['Rome', { gold: 1 }],
        ]),
        set: new Set(['Stone Curling', 'Stone Skating']),
        big: 2n ** 70n,
        missing: undefined,
        bytes: new Uint8Array([0, 1, 2, 254, 255]),
        nested: { deeper: [1, 'two', { three: [null, true] }] },
        unicode: 'Astérix ⚔ 🏅',
      };
      b!.handle('echo', (p: typeof payload) => ({ ...p, seenAt: new Date(0) }));
      const reply = await a!.request<typeof payload & { seenAt: Date }>('b', 'echo', payload);
      expect(reply).toEqual({ ...payload, seenAt: new Date(0) });
      expect('missing' in reply).toBe(true);
      expect(reply.map).toBeInstanceOf(Map);
      expect(reply.set).toBeInstanceOf(Set);
      expect(reply.date).toBeInstanceOf(Date);
      expect(typeof reply.big).toBe('bigint');
      expect(reply.bytes).toBeInstanceOf(Uint8Array);
    });

    it('carries a 1 MiB payload', async () => {
      const [a, b] = await connect();
      const big = 'x'.repeat(1024 * 1024);
      b!.handle('size', (s: string) => ({ length: s.length, same: s === big }));
      b!.handle('echo', (s: string) => s);
      await expect(a!.request('b', 'size', big, { timeoutMs: 20_000 })).resolves.toEqual({
        length: big.length,
        same: true,
      });
      await expect(a!.request('b', 'echo', big, { timeoutMs: 20_000 })).resolves.toBe(big);
    });

    it('rejects with AbortError when the signal aborts, before or during the request', async () => {
      const [a, b] = await connect();
      b!.handle('never', () => new Promise(() => undefined));
      const controller = new AbortController();
      const pending = a!.request('b', 'never', 1, { signal: controller.signal, timeoutMs: 60_000 });
      await nextTick();
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(AbortError);
      await expect(
        a!.request('b', 'never', 1, { signal: AbortSignal.abort() }),
      ).rejects.toBeInstanceOf(AbortError);
    });

    it('drops a payload its validator refuses, with an error event, and keeps serving', async () => {
      const [a, b] = await connect();
      const seen: number[] = [];
      const errors: Error[] = [];
      b!.on('error', (err) => errors.push(err));
      b!.handle(
        'vote',
        (n: number) => {
          seen.push(n);
          return n;
        },
        {
          validate: (p) => {
            if (typeof p !== 'number' || !Number.isInteger(p))
              throw new Error('expected an integer');
            return p;
          },
        },
      );
      const error = await a!.request('b', 'vote', { evil: true }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).remoteCode).toBe(InvalidMessageError.code);
      await expect(a!.request('b', 'vote', 7)).resolves.toBe(7);
      expect(seen).toEqual([7]);
      expect(errors.some((err) => err instanceof InvalidMessageError)).toBe(true);
    });

    it('reports a one-way handler that throws as an error event and keeps serving', async () => {
      const [a, b] = await connect();
      const failed = deferred<Error>();
      b!.on('error', (err) => failed.resolve(err));
      b!.handle('oneway', () => {
        throw new Error('one-way boom');
      });
      b!.handle('ping', () => 'pong');
      a!.send('b', 'oneway', 1);
      expect((await failed.promise).message).toContain('one-way boom');
      await expect(a!.request('b', 'ping', null)).resolves.toBe('pong');
    });

    it('rejects pending requests on stop() and leaves no timers or sockets behind', async () => {
      const resources = trackResources();
      const [a, b] = await connect();
      b!.handle('never', () => new Promise(() => undefined));
      b!.handle('ping', () => 'pong');
      await expect(a!.request('b', 'ping', null)).resolves.toBe('pong');
      const pending = a!.request('b', 'never', 1, { timeoutMs: 60_000 });
      await nextTick();
      await a!.stop();
      await expect(pending).rejects.toBeInstanceOf(TransportClosedError);
      await expect(a!.request('b', 'ping', null)).rejects.toBeInstanceOf(TransportClosedError);
      await a!.stop();
      await b!.stop();
      expect(await resources.left()).toEqual([]);
    });
  });
}
