import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Entry point of the plain server process, forked by `startPlainServer`:
 * the calibration target, a bare node:http server answering every request
 * with a small JSON tally and its Content-Length, as the Olympic service's
 * reads do. It reports its port over IPC and exits when the channel closes.
 */
const body = JSON.stringify({ team: 'Gaul', gold: 3, silver: 1, bronze: 2 });
const server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, (_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
// Nothing to flush: its keep-alive connections go with it.
process.once('disconnect', () => process.exit(0));
