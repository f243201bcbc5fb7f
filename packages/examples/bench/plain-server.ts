import { fork } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The throughput baselines, forked by the bench, each reporting its port
 * (and pids) over IPC and exiting when the channel closes:
 *
 * - `plain` (the default): a bare node:http server answering the lab routes
 *   from a Map, with none of the service's validation, idempotency or raffle.
 * - `MEDALS_PLAIN_TIERS=2`, the floor of a second tier on this machine: the
 *   same server, but each increment makes one round trip over a persistent
 *   TCP socket (newline-delimited JSON, no framing, no MAC, no validation)
 *   to a backend process that owns the tallies, and is answered after the
 *   backend's reply; reads are answered from the front's own copy, as the
 *   front-ends' read cache does. Whatever the two-tier service costs beyond
 *   this is its own; what this costs beyond `plain` is the machine's price
 *   for a second process on the path (its wake-ups and loopback writes).
 */
const token = process.env.MEDALS_CACOFONIX_TOKEN ?? '';
const teams = ['Gaul', 'Rome'];

function newTallies(): Map<string, Record<string, number>> {
  return new Map(teams.map((team) => [team, { gold: 0, silver: 0, bronze: 0 }]));
}

const tallies = newTallies();
const scores = new Map<string, Record<string, number>>([
  ['Stone Curling', { Rome: 0, Gaul: 0 }],
  ['Stone Skating', { Rome: 0, Gaul: 0 }],
  ['Underwater Stone Weaving', { Rome: 0, Gaul: 0 }],
]);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Calls `onLine` for each complete line the socket brings. */
function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
    }
  });
}

/** The second tier: applies increments to its tallies and answers each with the new tally. */
function runBackend(): void {
  const owned = newTallies();
  const server = createTcpServer((socket) => {
    socket.setNoDelay(true);
    readLines(socket, (line) => {
      const { id, team, medal } = JSON.parse(line) as { id: number; team: string; medal: string };
      const tally = owned.get(team) as Record<string, number>;
      tally[medal] = (tally[medal] ?? 0) + 1;
      socket.write(`${JSON.stringify({ id, tally })}\n`);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.once('disconnect', () => process.exit(0));
}

/** Where increments go: applied here, or sent to the backend and answered on its reply. */
type Increment = (team: string, medal: string, res: ServerResponse) => void;

function localIncrement(team: string, medal: string, res: ServerResponse): void {
  const tally = tallies.get(team) as Record<string, number>;
  tally[medal] = (tally[medal] ?? 0) + 1;
  send(res, 200, { ok: true, team, ...tally });
}

async function remoteIncrement(): Promise<{ increment: Increment; backendPid: number }> {
  const backend = fork(__filename, [], {
    env: { ...process.env, MEDALS_PLAIN_ROLE: 'backend' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const port = await new Promise<number>((resolve) =>
    backend.once('message', (message: { port: number }) => resolve(message.port)),
  );
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const waiting = new Map<number, { team: string; res: ServerResponse }>();
  let nextId = 0;
  readLines(socket, (line) => {
    const { id, tally } = JSON.parse(line) as { id: number; tally: Record<string, number> };
    const request = waiting.get(id);
    if (request === undefined) return;
    waiting.delete(id);
    tallies.set(request.team, tally);
    send(request.res, 200, { ok: true, team: request.team, ...tally });
  });
  process.once('disconnect', () => backend.kill('SIGTERM'));
  return {
    backendPid: backend.pid ?? 0,
    increment: (team, medal, res) => {
      const id = nextId++;
      waiting.set(id, { team, res });
      socket.write(`${JSON.stringify({ id, team, medal })}\n`);
    },
  };
}

function serve(increment: Increment, pids: number[]): void {
  const server = createHttpServer(
    { keepAlive: true },
    (req: IncomingMessage, res: ServerResponse) => {
      const [, route, ...params] = (req.url ?? '/').split('/').map(decodeURIComponent);
      if (route === 'getMedalTally' && tallies.has(params[0])) {
        send(res, 200, { team: params[0], ...tallies.get(params[0]) });
      } else if (route === 'getScore' && scores.has(params[0])) {
        send(res, 200, { event: params[0], ...scores.get(params[0]) });
      } else if (
        route === 'incrementMedalTally' &&
        tallies.has(params[0]) &&
        (params[2] === token || req.headers.authorization === `Bearer ${token}`)
      ) {
        increment(params[0], params[1], res);
      } else {
        send(res, 404, { error: 'not found' });
      }
    },
  );
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port, pids });
  });
  process.once('disconnect', () => server.close());
  server.on('close', () => process.exit(0));
}

if (process.env.MEDALS_PLAIN_ROLE === 'backend') {
  runBackend();
} else if (process.env.MEDALS_PLAIN_TIERS === '2') {
  void remoteIncrement().then(({ increment, backendPid }) =>
    serve(increment, [process.pid, backendPid]),
  );
} else {
  serve(localIncrement, [process.pid]);
}
