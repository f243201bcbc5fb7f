import { PeerKeyring } from '@medals/core';
import type { NodeSpec, ServiceOptions } from './service-options';

/** Default of {@link NodeSpec.dispatcherId}. */
export const DEFAULT_DISPATCHER_ID = 'dispatcher';

/**
 * A role that talks to other nodes was asked to start without credentials
 * (neither the cluster secret nor peer keys) and without `insecure`, or was
 * given both kinds. The message says what to set; it never holds a key.
 */
export class CredentialsError extends RangeError {
  readonly code = 'ERR_CREDENTIALS';

  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** The node-to-node credentials of `options`, as the transports and `PeerKeyring.from` take them. */
export function credentialsOf(options: ServiceOptions): {
  secret?: string;
  peerKeys?: Readonly<Record<string, string | Uint8Array>>;
} {
  if (options.secret && options.peerKeys !== undefined) {
    throw new CredentialsError(
      'give either the cluster secret (MEDALS_SECRET) or the peer keys (MEDALS_PEER_KEYS), not both',
    );
  }
  if (options.secret) return { secret: options.secret };
  if (options.peerKeys !== undefined) return { peerKeys: options.peerKeys };
  return {};
}

/** Whether `options` hold credentials of either kind. */
export function hasCredentials(options: ServiceOptions): boolean {
  const credentials = credentialsOf(options);
  return credentials.secret !== undefined || credentials.peerKeys !== undefined;
}

/** The keyring of node `self` from `options`, or undefined without credentials. */
export function keyringOf(self: string, options: ServiceOptions): PeerKeyring | undefined {
  return PeerKeyring.from(self, credentialsOf(options));
}

/**
 * Refuses, with a {@link CredentialsError} that says what to set, to start a
 * role that talks to other nodes without credentials, unless
 * `options.insecure` accepts unauthenticated peers: a db with front-ends, a
 * front-end (it talks to the db), a front-end registering with a dispatcher
 * (which needs the key it shares with it, whatever `insecure` says) and a
 * dispatcher without configured front-ends (it can serve only those that
 * register, which needs credentials too).
 */
export function requireCredentials(spec: NodeSpec, options: ServiceOptions): void {
  const keyring = keyringOf(spec.id, options);
  const talksToNodes =
    spec.role === 'frontend' || (spec.role === 'db' && Object.keys(spec.peers ?? {}).length > 0);
  if (talksToNodes && keyring === undefined && options.insecure !== true) {
    throw new CredentialsError(
      `${spec.id}: the ${spec.role} role talks to other nodes, so it needs credentials: ` +
        "set MEDALS_SECRET (the cluster secret) or MEDALS_PEER_KEYS (this node's pair keys), " +
        'or accept unauthenticated peers on a trusted network with --insecure (insecure: true)',
    );
  }
  if (spec.role === 'frontend' && spec.dispatcher !== undefined) {
    const dispatcherId = spec.dispatcherId ?? DEFAULT_DISPATCHER_ID;
    if (keyring?.keyFor(dispatcherId) === undefined) {
      throw new CredentialsError(
        `${spec.id}: registering with the dispatcher needs the key shared with it: ` +
          `set MEDALS_SECRET, or MEDALS_PEER_KEYS with an entry for ${dispatcherId}`,
      );
    }
  }
  if (
    spec.role === 'dispatcher' &&
    Object.keys(spec.frontEnds ?? {}).length === 0 &&
    keyring === undefined
  ) {
    throw new CredentialsError(
      `${spec.id}: a dispatcher needs front-ends (--front-ends), or credentials to take their ` +
        'registrations: set MEDALS_SECRET or MEDALS_PEER_KEYS',
    );
  }
}
