/*
 * The service's vocabulary (roles, options, node specs, a running role), in
 * a module of its own so that the modules implementing the service import it
 * without importing the package's index (which re-exports them: a cycle).
 */

import type { HttpServerOptions } from './http-server';
import type { RoleEventOptions } from './role-events';

/** What a process of the service does. */
export type Role =
  /** The back-end tier: serves the tally store to the front-ends over the node-to-node transport. */
  | 'db'
  /** The REST API; forwards reads and writes to `db`; takes part in the election, clock sync and multicast. */
  | 'frontend'
  /** Assigns each new client to the least-loaded live front-end (HTTP only). */
  | 'dispatcher'
  /** The single-tier baseline: the REST API with the store in the same process. */
  | 'single';

/** Paths of the PEM files of {@link ServiceOptions.tls}. */
export interface ServiceTlsFiles {
  /** This node's certificate. */
  cert: string;
  /** Its private key. */
  key: string;
  /** The CA certificate that signed every node's certificate. */
  ca: string;
}

/**
 * Options shared by every role of one service, so that each experiment is
 * one set of flags. Every field is read by the roles that need it and
 * ignored by the others.
 */
export interface ServiceOptions {
  /** Node-to-node transport of `db` and `frontend`. Default `'tcp'`. */
  transport: 'tcp' | 'http';
  /**
   * How long a silent node may go before the others suspect it, in ms
   * (heartbeats go out every fifth of it). Real processes on a busy machine
   * can stall for a few hundred ms, so this is longer than the simulator's.
   * Default 1,000.
   */
  failureTimeoutMs?: number;
  /** Leader election among `db` and the front-ends. Default `'bully'`. */
  election: 'bully' | 'ring';
  /** Clock synchronisation run by the leader; `'off'` runs none. Default `'berkeley'`. */
  clockSync: 'berkeley' | 'cristian' | 'off';
  /** Time between clock sync rounds, in ms. Default: the algorithm's own (10,000). */
  clockSyncIntervalMs?: number;
  /**
   * Totally ordered multicast among the front-ends, feeding the raffle.
   * Default `'sequencer'`: the db sequences and holds the order with the
   * front-ends, so the raffle goes on while any one node is away; Lamport's
   * group is the front-ends alone, so with two it stops while one is away.
   */
  multicast: 'lamport' | 'sequencer';
  /** Every how many requests (in the global order) one enters the raffle. Default 100. */
  raffleEvery: number;
  /** How often a winner is drawn among the entries not drawn yet, in ms; 0 draws none. Default 10,000. */
  raffleDrawIntervalMs?: number;
  /**
   * Most raffle entries a front-end (or the single server) keeps in memory,
   * the latest; entries not drawn yet are kept beyond it. Older ones are
   * read from the db's archive. Default 10,000.
   */
  raffleRetainEntries?: number;
  /** Most raffle winners a front-end keeps in memory, the latest. Default 10,000. */
  raffleRetainWinners?: number;
  /**
   * How often the db fetches the raffle's new entries and winners from the
   * front-ends into its archive, in ms. It must come round before
   * `raffleRetainEntries × raffleEvery` requests have been served, or the
   * archive misses what the front-ends no longer hold. Default 1,000.
   */
  raffleArchiveIntervalMs?: number;
  /**
   * How many of the last writes' operation ids the tally store remembers,
   * so a retry within them is answered, not applied again. Default: the
   * store's (100,000 for the memory and file stores, 1,000,000 for
   * PostgreSQL).
   */
  idempotencyRetention?: number;
  /** The tally store of `db` (and of `single`). Default `'file'`. */
  store: 'memory' | 'file' | 'postgres';
  /**
   * Whether front-ends cache reads of single tallies and scores, kept
   * coherent by the db's invalidations (a read never returns a value older
   * than an acknowledged write). Default `true`.
   */
  readCache?: boolean;
  /**
   * How long a front-end waits at start for the db to answer, in ms, asking
   * again with a growing backoff, so the roles may start in any order; it
   * then fails with `ERR_STORE_UNAVAILABLE`. Default 10,000.
   */
  startTimeoutMs?: number;
  /** Directory of the file store. Default `'.medals/data'`. */
  dataDir: string;
  /** Connection string of the PostgreSQL store. Default: `process.env.MEDALS_PG_URL`, else `postgres://postgres@127.0.0.1:5432/test`. */
  pgUrl?: string;
  /** Schema of the PostgreSQL store's tables (created if missing), so several services can share a database. Default `'public'`. */
  pgSchema?: string;
  /**
   * Cluster secret: every pair of nodes shares a key derived from it (see
   * `derivePairKey` in `@medals/core`), with which the node-to-node
   * transport authenticates peers, and front-ends sign their registrations
   * with the dispatcher. A node holding it can derive every pair's key, so
   * it is trusted as the whole cluster is; `medals cluster` gives its nodes
   * {@link peerKeys} instead. Give `secret` or `peerKeys`, not both.
   * Default: `process.env.MEDALS_SECRET`, else none.
   */
  secret?: string;
  /**
   * This node's own pair keys, by peer id (base64url text, as
   * `derivePeerKeys` and `formatPeerKeys` in `@medals/core` write them, or
   * bytes): the node authenticates to those peers as itself and cannot pose
   * as another node. `medals node` reads them from `MEDALS_PEER_KEYS`. A
   * front-end that registers needs the dispatcher's key among them, and a
   * dispatcher takes registrations only from the front-ends it has keys for.
   * Default: none.
   */
  peerKeys?: Readonly<Record<string, string | Uint8Array>>;
  /**
   * Lets a role that talks to other nodes (a db with front-ends, a
   * front-end) start without `secret` or `peerKeys`, its peers
   * unauthenticated, and its transport listen beyond loopback without
   * them: for a trusted network only. Registrations with the dispatcher
   * still need a key. Default `false`: such a role refuses to start
   * ({@link startRole} rejects with `CredentialsError`).
   */
  insecure?: boolean;
  /**
   * TLS around the node-to-node links, for links that leave the machine: the
   * paths of this node's PEM certificate and key and of the CA that signed
   * every node's certificate (each side verifies the other's against it).
   * TCP transport only; the pair keys still bind node ids inside it.
   * Default: none.
   */
  tls?: ServiceTlsFiles;
  /** Bounds of the REST servers (front-end, single, dispatcher): timeouts, connections, sizes. Default: {@link HttpServerOptions}' own. */
  httpServer?: HttpServerOptions;
  /**
   * Cacofonix's token, which authorises writes (in the path, or as
   * `Authorization: Bearer …`). Default: `process.env.MEDALS_CACOFONIX_TOKEN`,
   * else empty, which {@link startRole} refuses for roles that serve writes:
   * the launcher generates one and writes it where the operator can read it.
   */
  token: string;
  /** Initial offset of this node's clock in ms, positive ahead (for the clock experiment). Default 0. */
  clockOffsetMs?: number;
}

/**
 * Defaults of {@link ServiceOptions}: TCP, bully, Berkeley, Lamport, a raffle
 * every 100 requests and the file store under `.medals/data`. How many
 * front-ends to start is the launcher's business.
 */
export const defaultServiceOptions: ServiceOptions = Object.freeze({
  transport: 'tcp',
  election: 'bully',
  clockSync: 'berkeley',
  multicast: 'sequencer',
  raffleEvery: 100,
  store: 'file',
  dataDir: '.medals/data',
  pgUrl: process.env.MEDALS_PG_URL,
  secret: process.env.MEDALS_SECRET,
  token: process.env.MEDALS_CACOFONIX_TOKEN ?? '',
}) as ServiceOptions;

/** One process of the service: its role, its name and where it listens. */
export interface NodeSpec {
  /** What the process does. */
  role: Role;
  /** Its id, unique in the service, e.g. `'db'`, `'fe1'`, `'dispatcher'`. */
  id: string;
  /** Node-to-node listen address `host:port` (`db`, `frontend`); port 0 picks a free one. Default `'127.0.0.1:0'`. */
  listen?: string;
  /** REST listen address `host:port` (`frontend`, `dispatcher`, `single`); port 0 picks a free one. Default `'127.0.0.1:0'`. */
  http?: string;
  /**
   * Node-to-node addresses of the OTHER `db` and `frontend` nodes, by id:
   * `'tcp://127.0.0.1:7001'` or `'http://127.0.0.1:7001'` as the transport
   * has it. Together with this node they elect the leader; the front-ends
   * among them form the multicast group. Required for `frontend` (it must
   * name the db); default none.
   */
  peers?: Record<string, string>;
  /** Which of `peers` (or this node) is the `db` node. Default `'db'`. */
  db?: string;
  /**
   * Dispatcher only: front-ends' REST base URLs by id, served from the start
   * (while their health checks pass) until each registers. Optional when the
   * dispatcher has credentials, since front-ends then register themselves;
   * required otherwise.
   */
  frontEnds?: Record<string, string>;
  /**
   * Front-end only: the dispatcher's REST base URL, e.g.
   * `http://127.0.0.1:8000`. The front-end registers there at start and then
   * every second, signed with the key it shares with the dispatcher (from
   * {@link ServiceOptions.secret} or {@link ServiceOptions.peerKeys}, which
   * it then needs), so the dispatcher serves it at whatever URL it has now.
   * Default: none (the dispatcher must be configured with the front-end's URL).
   */
  dispatcher?: string;
  /** Front-end only: the dispatcher's node id, whose pair key signs the registrations. Default `'dispatcher'`. */
  dispatcherId?: string;
  /**
   * Which start of this node this is, from 1: whoever restarts a node after
   * a crash counts up (`medals cluster`'s supervisor does), so the
   * algorithms know it lost its memory (`Tokens.Incarnation`). Default 1.
   */
  incarnation?: number;
}

/** A role started by {@link startRole}. */
export interface RunningRole {
  /** Its id, as in the spec. */
  readonly id: string;
  /** Its role, as in the spec. */
  readonly role: Role;
  /** REST base URL once listening, e.g. `http://127.0.0.1:8001` (`frontend`, `dispatcher`, `single`). */
  readonly url: string | undefined;
  /** Node-to-node address, e.g. `tcp://127.0.0.1:7001` (`db`, `frontend`). */
  readonly address: string | undefined;
  /**
   * Subscribes to everything the role reports: its node's bus events
   * (`elected`, `clockAdjusted`, `raffleEntry`, `raffleWinner`,
   * `peerSuspected`, `node:error`, …) and the role's own ({@link RoleEvents}).
   * Returns a function that unsubscribes. `options.perRequest: false` leaves
   * out the role's per-request events, which then cost it nothing.
   */
  onEvent(listener: (event: string, data: unknown) => void, options?: RoleEventOptions): () => void;
  /** What `GET /status` answers (the dispatcher answers its `/servers`). */
  status(): Promise<Record<string, unknown>>;
  /** Stops serving, then the node and the store. Clean and idempotent. */
  stop(): Promise<void>;
}

/** The raffle's bounds among `options`, as `everyNthRaffle` and `LocalRaffle` take them (unset: their defaults). */
export function raffleRetention(options: ServiceOptions): {
  retainEntries?: number;
  retainWinners?: number;
} {
  return {
    ...(options.raffleRetainEntries === undefined
      ? {}
      : { retainEntries: options.raffleRetainEntries }),
    ...(options.raffleRetainWinners === undefined
      ? {}
      : { retainWinners: options.raffleRetainWinners }),
  };
}
