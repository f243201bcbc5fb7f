import type { ServiceOptions } from '../service';
import { freePorts, portIsFree } from './free-ports';
import { NodeProcessGroup } from './node-process-group';
import type { LaunchedNode, NodeProcessGroupOptions } from './node-process-group';

/** What {@link launchCluster} starts. */
export interface ClusterPlan {
  /** How many front-ends (`fe1`, `fe2`, …). */
  frontEnds: number;
  /** The service's options for every node; `token` must be set. */
  options: ServiceOptions;
  /** The dispatcher's REST port; 0 picks a free one. Default 0. */
  port?: number;
  /** Whether to start the dispatcher. Default true. */
  dispatcher?: boolean;
  /** Initial clock offsets in ms by node id (for the clock experiment). Default: none. */
  clockOffsetsMs?: Readonly<Record<string, number>>;
}

/** A two-tier cluster whose nodes all reported ready. */
export interface LaunchedCluster {
  readonly db: LaunchedNode;
  readonly frontEnds: LaunchedNode[];
  readonly dispatcher: LaunchedNode | undefined;
  /** The processes: their events, output and exits, and `kill` for fault injection. */
  readonly group: NodeProcessGroup;
  /** Stops the dispatcher, then the front-ends, then the db. */
  stop(): Promise<void>;
}

/** The requested port is taken by another process. */
export class PortInUseError extends Error {
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
 * since each must know the others'), then the dispatcher on `plan.port` with the
 * front-ends' REST URLs. Resolves once every node reported ready; if one
 * fails, stops the others and rejects with its reason. Pass a `group` to
 * see its output and events from the start (and to stop it on a signal
 * while it starts).
 */
export async function launchCluster(
  plan: ClusterPlan,
  group: NodeProcessGroup = new NodeProcessGroup(),
): Promise<LaunchedCluster> {
  const port = plan.port ?? 0;
  if (port !== 0 && !(await portIsFree(port, host))) throw new PortInUseError(port);
  const ids = frontEndIds(plan.frontEnds);
  const members = ['db', ...ids];
  const ports = await freePorts(members.length, host);
  const scheme = plan.options.transport === 'http' ? 'http' : 'tcp';
  const addresses = Object.fromEntries(
    members.map((id, i) => [id, `${scheme}://${host}:${ports[i]}`]),
  );
  const listen = Object.fromEntries(members.map((id, i) => [id, `${host}:${ports[i]}`]));
  const peersOf = (id: string): Record<string, string> =>
    Object.fromEntries(Object.entries(addresses).filter(([peer]) => peer !== id));
  const optionsOf = (id: string): ServiceOptions => {
    const offset = plan.clockOffsetsMs?.[id];
    return offset === undefined ? plan.options : { ...plan.options, clockOffsetMs: offset };
  };
  const stop = (): Promise<void> => group.stopAll(clusterStopStages(plan.frontEnds));
  try {
    // The db first: a front-end asks it for the catalogue as it starts.
    const db = await group.spawn(
      { role: 'db', id: 'db', listen: listen.db, peers: peersOf('db') },
      optionsOf('db'),
    );
    const frontEnds = await Promise.all(
      ids.map((id) =>
        group.spawn(
          { role: 'frontend', id, listen: listen[id], http: `${host}:0`, peers: peersOf(id) },
          optionsOf(id),
        ),
      ),
    );
    let dispatcher: LaunchedNode | undefined;
    if (plan.dispatcher ?? true) {
      dispatcher = await group.spawn(
        {
          role: 'dispatcher',
          id: 'dispatcher',
          http: `${host}:${port}`,
          frontEnds: Object.fromEntries(frontEnds.map((fe) => [fe.id, fe.url ?? ''])),
        },
        plan.options,
      );
    }
    return { db, frontEnds, dispatcher, group, stop };
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
      options,
    );
    return { node, group, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
