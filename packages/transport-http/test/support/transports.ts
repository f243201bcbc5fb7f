import type { HttpTransportOptions } from '@medals/transport-http';
import { HttpTransport } from '@medals/transport-http';

const live: HttpTransport[] = [];

/** Creates and starts transports, and introduces every pair; {@link stopTransports} stops them. */
export async function startTransports(
  ...options: HttpTransportOptions[]
): Promise<HttpTransport[]> {
  const transports = options.map((o) => new HttpTransport(o));
  live.push(...transports);
  await Promise.all(transports.map((t) => t.start()));
  for (const t of transports)
    for (const u of transports) if (t !== u) t.addPeer(u.nodeId, u.address);
  return transports;
}

/** Stops every transport started by {@link startTransports}; call it in `afterEach`. */
export async function stopTransports(): Promise<void> {
  await Promise.all(live.splice(0).map((t) => t.stop()));
}

/** Collects the `error` events of a transport. */
export function errorsOf(transport: HttpTransport): Error[] {
  const errors: Error[] = [];
  transport.on('error', (error) => errors.push(error));
  return errors;
}
