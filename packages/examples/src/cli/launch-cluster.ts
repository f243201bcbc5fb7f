import { randomBytes } from 'node:crypto';
import { derivePeerKeys } from '@medals/core';
import type { ServiceOptions } from '../service';
import { freePorts, portIsFree } from './free-ports';
import { NodeProcessGroup, NodeStartError } from './node-process-group';
import type { LaunchedNode, NodeProcessGroupOptions } from './node-process-group';
import { RestartSupervisor } from './restart-supervisor';
import { UserError } from './user-error';
import type { RestartPolicy, RestartSupervisorOptions } from './restart-supervisor';

/** What {@link launchCluster} starts. */
export interface ClusterPlan {
  /** How many front-ends (`fe1`, `fe2`, …). */
  frontEnds: number;
  /**
   * The service's options for every node; `token` must be set. Without a
   * `secret`, a random cluster secret is made for this cluster. No node gets
   * the secret itself: each gets only the keys it shares with its peers
   * (`peerKeys`, by environment, never argv), so that none can pose as another.
   */
  options: ServiceOptions;
  /** The dispatcher's REST port; 0 picks a free one. Default 0. */
  port?: number;
  /** Whether to start the dispatcher. Default true. */
  dispatcher?: boolean;
  /** Initial clock offsets in ms by node id (for the clock experiment). Default: none. */
  clockOffsetsMs?: Readonly<Record<string, number>>;
  /** Whether a node that dies unexpectedly is restarted (see {@link RestartSupervisor}). Default `'never'`. */
  restart?: RestartPolicy;
  /** The restarts' backoff. Default: {@link RestartSupervisor}'s. */
  restartBackoff?: RestartSupervisorOptions;
  /** How long the dispatcher may take, once ready, to hear from every front-end, in ms. Default 10,000. */
  registrationTimeoutMs?: number;
}

/** A two-tier cluster whose nodes all reported ready. */
export interface LaunchedCluster {
  /** The nodes as first launched (a restarted node's current incarnation is `group.node(id)`). */
  readonly db: LaunchedNode;
  readonly frontEnds: LaunchedNode[];
  readonly dispatcher: LaunchedNode | undefined;
  /** The processes: their events, output and exits, and `kill` for fault injection. */
  readonly group: NodeProcessGroup;
  /** What restarts dead nodes, with `restart: 'on-failure'`; its events say when. */
  readonly supervisor: RestartSupervisor | undefined;
  /** Stops supervising, then stops the dispatcher, then the front-ends, then the db. */
  stop(): Promise<void>;
}

/** The requested port is taken by another process. */
export class PortInUseError extends UserError {
  constructor(readonly port: number) {
    super(
      `port ${port} is already in use on 127.0.0.1 (another cluster?); choose another with --port`,
    );
    this.name = 'PortInUseError';
  }
}

const host = '127.0.0.1';

/** The ids of a cluster with `count` front-ends. */
export function frontEndIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `fe${i + 1}`);
}

/** The order in which a cluster's nodes stop: first who sends clients, last who keeps the data. */
export function clusterStopStages(frontEnds: number): string[][] {
  return [['dispatcher'], frontEndIds(frontEnds), ['db']];
}

/**
 * Starts a two-tier cluster on 127.0.0.1 as separate processes: the db,
 * then the front-ends at once (node-to-node ports are picked beforehand,
 * since each must know the others'), then the dispatcher on `plan.port`
 * (picked beforehand too when 0, so that the front-ends know where to
 * register and a restarted dispatcher keeps its URL). Each node gets the
 * keys it shares with its peers, derived from the cluster secret, and no
 * more: the db and the front-ends authenticate each other with them, and
 * each front-end registers with the dispatcher signed with theirs; resolves
 * once every node reported ready and the dispatcher has heard from every
 * front-end. If one fails, stops the others and rejects with its reason.
 * Pass a `group` to see its output and events from the start (and to stop
 * it on a signal while it starts).
 */
export async function launchCluster(
  plan: ClusterPlan,
  group: NodeProcessGroup = new NodeProcessGroup(),
): Promise<LaunchedCluster> {
  const requestedPort = plan.port ?? 0;
  if (requestedPort !== 0 && !(await portIsFree(requestedPort, host))) {
    throw new PortInUseError(requestedPort);
  }
  const withDispatcher = plan.dispatcher ?? true;
  const secret = plan.options.secret || randomBytes(32).toString('base64url');
  const ids = frontEndIds(plan.frontEnds);
  const members = ['db', ...ids];
  // Who talks to whom: the db and the front-ends to each other, the front-ends to the dispatcher.
  const peerIdsOf = (id: string): string[] =>
    id === 'dispatcher'
      ? ids
      : [...members, ...(withDispatcher && id !== 'db' ? ['dispatcher'] : [])];
  const options = withoutCredentials(plan.options);
  const ports = await freePorts(members.length + 1, host);
  const port = requestedPort === 0 ? (ports.pop() as number) : requestedPort;
  const dispatcherUrl = withDispatcher ? `http://${host}:${port}` : undefined;
  const scheme = options.transport === 'http' ? 'http' : 'tcp';
  const addresses = Object.fromEntries(
    members.map((id, i) => [id, `${scheme}://${host}:${ports[i]}`]),
  );
  const listen = Object.fromEntries(members.map((id, i) => [id, `${host}:${ports[i]}`]));
  const peersOf = (id: string): Record<string, string> =>
    Object.fromEntries(Object.entries(addresses).filter(([peer]) => peer !== id));
  const optionsOf = (id: string): ServiceOptions => {
    const offset = plan.clockOffsetsMs?.[id];
    return {
      ...options,
      peerKeys: derivePeerKeys(secret, id, peerIdsOf(id)),
      ...(offset === undefined ? {} : { clockOffsetMs: offset }),
    };
  };
  let supervisor: RestartSupervisor | undefined;
  const stop = (): Promise<void> => {
    supervisor?.stop();
    return group.stopAll(clusterStopStages(plan.frontEnds));
  };
  try {
    // The db first: a front-end asks it for the catalogue as it starts.
    const db = await group.spawn(
      { role: 'db', id: 'db', listen: listen.db, peers: peersOf('db') },
      optionsOf('db'),
    );
    const frontEnds = await Promise.all(
      ids.map((id) =>
        group.spawn(
          {
            role: 'frontend',
            id,
            listen: listen[id],
            http: `${host}:0`,
            peers: peersOf(id),
            ...(dispatcherUrl === undefined ? {} : { dispatcher: dispatcherUrl }),
          },
          optionsOf(id),
        ),
      ),
    );
    let dispatcher: LaunchedNode | undefined;
    if (withDispatcher) {
      const registered = new RegistrationWatch(group, ids);
      try {
        dispatcher = await group.spawn(
          { role: 'dispatcher', id: 'dispatcher', http: `${host}:${port}` },
          optionsOf('dispatcher'),
        );
        await registered.whenComplete(plan.registrationTimeoutMs);
      } finally {
        registered.close();
      }
    }
    if ((plan.restart ?? 'never') === 'on-failure') {
      supervisor = new RestartSupervisor(group, plan.restartBackoff);
    }
    return { db, frontEnds, dispatcher, group, supervisor, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The single-tier baseline as one process: the REST API with its store in-process. */
export async function launchSingle(
  options: ServiceOptions,
  port = 0,
  groupOptions: NodeProcessGroupOptions = {},
): Promise<{ node: LaunchedNode; group: NodeProcessGroup; stop(): Promise<void> }> {
  if (port !== 0 && !(await portIsFree(port, host))) throw new PortInUseError(port);
  const group = new NodeProcessGroup(groupOptions);
  const stop = (): Promise<void> => group.stopAll();
  try {
    const node = await group.spawn(
      { role: 'single', id: 'single', http: `${host}:${port}` },
      withoutCredentials(options),
    );
    return { node, group, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `options` without node credentials: what a node gets before its own keys are added, and all a single-tier server needs. */
function withoutCredentials(options: ServiceOptions): ServiceOptions {
  const bare = { ...options };
  delete bare.secret;
  delete bare.peerKeys;
  return bare;
}

/**
 * Watches the dispatcher's `dispatcher:registered` events from its creation
 * on, so that none is missed while the dispatcher starts.
 */
class RegistrationWatch {
  readonly #missing: Set<string>;
  readonly #group: NodeProcessGroup;
  #complete: () => void = () => undefined;

  readonly #onEvent = (node: string, event: string, data: unknown): void => {
    if (node !== 'dispatcher' || event !== 'dispatcher:registered') return;
    this.#missing.delete(String((data as { id?: unknown }).id));
    if (this.#missing.size === 0) this.#complete();
  };

  constructor(group: NodeProcessGroup, ids: readonly string[]) {
    this.#group = group;
    this.#missing = new Set(ids);
    group.on('event', this.#onEvent);
  }

  /** Resolves once each front-end has registered; rejects after `timeoutMs` naming those missing. */
  whenComplete(timeoutMs = 10_000): Promise<void> {
    if (this.#missing.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            // A start-up failure the user can act on (credentials, a slow machine), not a bug: no stack.
            new NodeStartError(
              `the dispatcher heard from no registration of ${[...this.#missing].join(', ')} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      this.#complete = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops watching. */
  close(): void {
    this.#group.off('event', this.#onEvent);
  }
}
