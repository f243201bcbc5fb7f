import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The fixture server (fixtures/test-server.js) running in its own process. */
export interface TestServer {
  readonly url: string;
  readonly pid: number;
  /** Holds every answer for `ms`, starting at the `afterRequests`-th request from now. */
  stall(afterRequests: number, ms: number): void;
  /** What the server has received since it started. */
  stats(): Promise<TestServerStats>;
  stop(): Promise<void>;
}

/** What a {@link TestServer} has received. */
export interface TestServerStats {
  readonly requests: number;
  /** The Idempotency-Key headers, in the order they came. */
  readonly keys: string[];
  /** The distinct Host headers. */
  readonly hosts: string[];
  /** Requests on each connection, in the order the connections were accepted. */
  readonly perConnection: number[];
  /**
   * How long the server actually held each answered request, from its
   * arrival to its answer, in ms, in answer order: the injected delay, plus
   * however late the server's process got to run on a loaded machine.
   */
  readonly heldMs: number[];
}

type ServerMessage = { type: 'listening'; port: number } | ({ type: 'stats' } & TestServerStats);

/** Starts the fixture server, each answer delayed by `delayMs`. */
export async function startTestServer(delayMs = 0): Promise<TestServer> {
  const child: ChildProcess = fork(join(__dirname, '..', 'fixtures', 'test-server.js'), [], {
    env: { ...process.env, LOADGEN_TEST_DELAY_MS: String(delayMs) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const next = (): Promise<ServerMessage> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`test server exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (message: ServerMessage) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const listening = await next();
  if (listening.type !== 'listening') throw new Error(`test server sent ${listening.type} first`);
  return {
    url: `http://127.0.0.1:${listening.port}`,
    pid: child.pid as number,
    stall: (afterRequests, ms) => child.send({ type: 'stall', afterRequests, ms }),
    async stats() {
      const reply = next();
      child.send({ type: 'stats' });
      const message = await reply;
      if (message.type !== 'stats') throw new Error(`test server sent ${message.type}`);
      const { requests, keys, hosts, perConnection, heldMs } = message;
      return { requests, keys, hosts, perConnection, heldMs };
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          child.once('exit', () => resolve());
          child.disconnect();
        }
      }),
  };
}
