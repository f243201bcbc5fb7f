import type { TcpTransportOptions } from '@medals/transport-tcp';
import { TcpTransport } from '@medals/transport-tcp';
import { waitFor } from './helpers/wait';

const SECRET = 'a secret for the backpressure tests, long and random enough';
const LIMIT = 8;
const REQUESTS = 2_000;
const PADDING = 'p'.repeat(1_000);

describe.each([
  ['plain', {}],
  ['authenticated', { secret: SECRET }],
] as [string, Partial<TcpTransportOptions>][])(
  'TcpTransport read-side backpressure (%s)',
  (_, options) => {
    let live: TcpTransport[] = [];

    function transport(nodeId: string, more: Partial<TcpTransportOptions> = {}): TcpTransport {
      const created = new TcpTransport({
        nodeId,
        peers: {},
        ...options,
        ...more,
      });
      live.push(created);
      return created;
    }

    afterEach(async () => {
      await Promise.all(live.map((t) => t.stop()));
      live = [];
    });

    it('stops reading from a peer whose requests pile up, serves another peer meanwhile, and answers everything once released', async () => {
      const receiver = transport('receiver', { maxPendingInbound: LIMIT });
      const flooder = transport('flooder');
      const other = transport('other');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      receiver.handle('slow', async ({ i }: { i: number }) => {
        started += 1;
        await released;
        return i;
      });
      receiver.handle('quick', (n: number) => n);
      await Promise.all(live.map((t) => t.start()));
      for (const sender of [flooder, other]) {
        sender.addPeer('receiver', receiver.address);
        receiver.addPeer(sender.nodeId, sender.address);
        await expect(sender.request('receiver', 'quick', 0)).resolves.toBe(0);
      }

      // Each settles to its answer or its error, so that a failing test reports itself and nothing else.
      const ask = (i: number): Promise<unknown> =>
        flooder
          .request('receiver', 'slow', { i, padding: PADDING }, { timeoutMs: 60_000 })
          .catch((err: unknown) => err);
      const replies = Array.from({ length: REQUESTS }, (_, i) => ask(i));
      await waitFor(() => receiver.stats().readPauses === 1, 'the receiver to pause reading');
      expect(started).toBe(LIMIT);

      // Meanwhile the other peer is served, and not one byte more of the flooder's is read.
      const receivedBefore = receiver.stats().bytesReceived;
      const otherSentBefore = other.stats().bytesSent;
      for (let i = 1; i <= 20; i += 1) {
        await expect(other.request('receiver', 'quick', i)).resolves.toBe(i);
      }
      // The flooder keeps sending.
      const more = Array.from({ length: 100 }, (_, i) => ask(REQUESTS + i));
      await expect(other.request('receiver', 'quick', 21)).resolves.toBe(21);
      expect(receiver.stats().bytesReceived - receivedBefore).toBe(
        other.stats().bytesSent - otherSentBefore,
      );
      expect(started).toBe(LIMIT);

      release();
      const answers = await Promise.all([...replies, ...more]);
      expect(answers).toEqual(Array.from({ length: REQUESTS + 100 }, (_, i) => i));
      expect(started).toBe(REQUESTS + 100);
      expect(receiver.stats().readPauses).toBeGreaterThanOrEqual(1);
    });
  },
);
