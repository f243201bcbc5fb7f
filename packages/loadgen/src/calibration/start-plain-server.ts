import { fork } from 'node:child_process';
import { compiledScript } from '../compiled-script';

/** The plain server of {@link startPlainServer}, running in its own process. */
export interface PlainServer {
  /** A URL it answers, `http://127.0.0.1:<port>/getMedalTally/Gaul`. */
  readonly url: string;
  /** Its process, to measure CPU time per request of (or pin) it. */
  readonly pid: number;
  /** Stops it; resolves once its process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the calibration target in a process of its own: a bare node:http
 * server on 127.0.0.1 (a free port) that answers every request with a
 * small JSON tally and its `Content-Length`, as the Olympic service's reads
 * do, and nothing else. It is what {@link calibrateAgainstWrk} is meant to
 * measure against, the floor of what any server costs. It exits when
 * stopped, or when the process that started it exits.
 *
 * @throws Error if the package is not built or the server does not start
 */
export async function startPlainServer(): Promise<PlainServer> {
  const child = fork(compiledScript('calibration/plain-server.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // A plain node, not the caller's flags (an inspector, a loader).
    execArgv: [],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`the plain server exited (${code}) before it listened`));
    child.once('exit', onExit);
    child.once('message', (message: { port: number }) => {
      child.off('exit', onExit);
      resolve(message.port);
    });
  });
  return {
    url: `http://127.0.0.1:${port}/getMedalTally/Gaul`,
    pid: child.pid as number,
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
