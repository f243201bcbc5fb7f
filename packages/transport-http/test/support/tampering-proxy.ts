import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer as the proxy relays it. */
export interface RelayedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Turns the real answer to the `index`-th message (from 0) into what the caller receives. */
export type Tamper = (answer: RelayedAnswer, index: number) => RelayedAnswer;

/**
 * A man in the middle: a node:http server that forwards each message, as it
 * came, to the real peer, and hands the caller whatever `tamper` makes of
 * the peer's answer.
 */
export class TamperingProxy {
  readonly #server: Server;
  readonly #target: URL;
  #count = 0;
  /** The answers the peer really gave, in the order the messages arrived. */
  readonly answers: RelayedAnswer[] = [];

  constructor(target: string, tamper: Tamper) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => {
      const index = this.#count++;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const forwarded = request(
          {
            host: this.#target.hostname,
            port: this.#target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, connection: 'close' },
            agent: false,
          },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => body.push(chunk));
            answer.on('end', () => {
              const real = {
                status: answer.statusCode ?? 0,
                headers: { ...answer.headers },
                body: Buffer.concat(body),
              };
              this.answers.push(real);
              const relayed = tamper(real, index);
              // The proxy's own connection headers, not the peer's.
              const headers: IncomingHttpHeaders = { ...relayed.headers };
              for (const name of ['connection', 'keep-alive', 'date', 'transfer-encoding'])
                delete headers[name];
              headers['content-length'] = String(relayed.body.length);
              res.writeHead(relayed.status, headers).end(relayed.body);
            });
          },
        );
        forwarded.on('error', () => res.destroy());
        forwarded.end(Buffer.concat(chunks));
      });
    });
  }

  /** Where callers reach the proxy, `http://127.0.0.1:port`. */
  get address(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
