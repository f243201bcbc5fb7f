import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The fixture server (fixtures/test-server.js) running in its own process. */
export interface TestServer {
  readonly url: string;
  readonly pid: number;
  /** Holds every answer for `ms`, starting at the `afterRequests`-th request from now. */
  stall(afterRequests: number, ms: number): void;
  /** Requests the server has received, and the Idempotency-Key headers among them. */
  stats(): Promise<{ requests: number; keys: string[] }>;
  stop(): Promise<void>;
}

type ServerMessage =
  { type: 'listening'; port: number } | { type: 'stats'; requests: number; keys: string[] };

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
      return { requests: message.requests, keys: message.keys };
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
