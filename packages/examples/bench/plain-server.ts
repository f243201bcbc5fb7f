import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The throughput baseline: a bare node:http server answering the lab routes
 * from a Map, with none of the service's validation, idempotency or raffle.
 * Forked by the bench, it reports its port over IPC and exits when the
 * channel closes.
 */
const token = process.env.MEDALS_CACOFONIX_TOKEN ?? '';
const tallies = new Map<string, Record<string, number>>([
  ['Gaul', { gold: 0, silver: 0, bronze: 0 }],
  ['Rome', { gold: 0, silver: 0, bronze: 0 }],
]);
const scores = new Map<string, Record<string, number>>([
  ['Stone Curling', { Rome: 0, Gaul: 0 }],
  ['Stone Skating', { Rome: 0, Gaul: 0 }],
  ['Underwater Stone Weaving', { Rome: 0, Gaul: 0 }],
]);

const server = createServer({ keepAlive: true }, (req, res) => {
  const [, route, ...params] = (req.url ?? '/').split('/').map(decodeURIComponent);
  let status = 200;
  let body: unknown;
  if (route === 'getMedalTally' && tallies.has(params[0])) {
    body = { team: params[0], ...tallies.get(params[0]) };
  } else if (route === 'getScore' && scores.has(params[0])) {
    body = { event: params[0], ...scores.get(params[0]) };
  } else if (
    route === 'incrementMedalTally' &&
    tallies.has(params[0]) &&
    (params[2] === token || req.headers.authorization === `Bearer ${token}`)
  ) {
    const tally = tallies.get(params[0]) as Record<string, number>;
    tally[params[1]] = (tally[params[1]] ?? 0) + 1;
    body = { ok: true, team: params[0], ...tally };
  } else {
    status = 404;
    body = { error: 'not found' };
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.once('disconnect', () => server.close());
server.on('close', () => process.exit(0));
