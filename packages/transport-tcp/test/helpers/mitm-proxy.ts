import type { AddressInfo, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { encodeFrame, FrameDecoder, parseTcpAddress } from '@medals/transport-tcp';

/**
 * What a {@link MitmProxy} does with frame `index` (0 is the `hello`) of the
 * dialler's stream: it returns the frame bodies to pass on in its place, now.
 */
export type Tamper = (body: Buffer, index: number) => Buffer[];

/** A man in the middle on the path from a dialler to a listener. */
export interface MitmProxy {
  /** Where the dialler should dial instead of the listener. */
  readonly address: string;
  /** Connections it carried so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` that cuts the dialler's bytes into frames and
 * passes each through `tamper` on the first connection it carries (later
 * ones, the dialler's reconnections, pass untouched); the listener's bytes
 * go back as they are. It knows the framing and nothing else: no key.
 */
export async function startMitmProxy(target: string, tamper: Tamper): Promise<MitmProxy> {
  const { host, port } = parseTcpAddress(target);
  const sockets = new Set<Socket>();
  let carried = 0;
  const server = createServer((dialler) => {
    const tampering = carried === 0;
    carried += 1;
    const listener = connect({ host, port });
    for (const socket of [dialler, listener]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        dialler.destroy();
        listener.destroy();
      });
    }
    listener.pipe(dialler);
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    let index = 0;
    dialler.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let body = decoder.next(); body !== undefined; body = decoder.next()) {
        const bodies = tampering ? tamper(Buffer.from(body), index) : [body];
        index += 1;
        for (const passed of bodies) listener.write(encodeFrame(passed));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => carried,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
