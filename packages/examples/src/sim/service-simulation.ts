import type { Fault, History, LinkConditions, MedalsNode, NodeId } from '@medals/core';
import { JsonCodec, Simulation, Tokens } from '@medals/core';
import { checkHistory } from '@medals/core/testing';
import type { HistoryVerdict } from '@medals/core/testing';
import type { ServiceOptions } from '../service';
import { frontEndGroup, servicePlugins } from '../service/plugins';
import { RaffleDrawer } from '../service/raffle-drawer';
import { believesAlive } from '../service/service-node';

/** Default of {@link ServiceSimulationOptions.raffleDrawIntervalMs}: the service's. */
const DEFAULT_DRAW_INTERVAL_MS = 10_000;

/** A scenario of `medals sim`: the service's algorithms on virtual time. */
export interface ServiceSimulationOptions {
  /** Everything random derives from it: same seed, same history. */
  seed: number;
  /** How many front-ends (`fe1` …); the db is `db`. */
  frontEnds: number;
  /** The algorithms, as `medals cluster` chooses them (transport and store do not apply). */
  service: ServiceOptions;
  /** How long the run lasts, in virtual ms. */
  durationMs: number;
  /** Link delay (`latencyMs` ± `jitterMs`, uniform) and loss of every link. */
  links: { latencyMs: number; jitterMs: number; loss: number };
  /** Faults at virtual times (see `parseFault`). */
  faults: readonly Fault[];
  /** Requests per second entering the raffle (at a live front-end picked at random). */
  requestsPerSecond: number;
  /** The workload stops this long before the end, so the run ends quiet and agreement can be judged. */
  quietMs: number;
  /** Each node's clock starts off true time by up to this many ms either way. */
  clockSkewMs: number;
  /** Largest spread of the live clocks at the end for the clock-residual check, in ms. */
  clockBoundMs: number;
}

/** What a {@link simulateService} run produced. */
export interface ServiceSimulationResult {
  readonly history: History;
  /** SHA-256 of the history's canonical text. */
  readonly digest: string;
  /** The checkers' verdicts (`checkHistory`). */
  readonly verdicts: HistoryVerdict[];
  /** The node ids, db first. */
  readonly nodes: readonly NodeId[];
  /** The multicast group (the front-ends). */
  readonly group: readonly NodeId[];
}

/** The link conditions of `links`. */
export function linkConditions(links: ServiceSimulationOptions['links']): LinkConditions {
  const min = Math.max(0, links.latencyMs - links.jitterMs);
  return {
    latency: links.jitterMs > 0 ? { min, max: links.latencyMs + links.jitterMs } : links.latencyMs,
    ...(links.loss > 0 ? { loss: links.loss } : {}),
  };
}

/** The node ids of a service simulation: the db, then the front-ends. */
export function serviceNodeIds(frontEnds: number): NodeId[] {
  return ['db', ...Array.from({ length: frontEnds }, (_, i) => `fe${i + 1}`)];
}

/**
 * Runs the service's algorithms (the plugins `medals cluster` would give
 * the db and the front-ends, and the front-ends' raffle drawer) in the
 * simulator, with clients' requests entering the raffle, faults on
 * schedule, and every message recorded; then judges the history. The same
 * options give the same history, byte for byte.
 */
export async function simulateService(
  options: ServiceSimulationOptions,
): Promise<ServiceSimulationResult> {
  const nodes = serviceNodeIds(options.frontEnds);
  const members = [...nodes].sort();
  const group = frontEndGroup({ self: 'db', db: 'db', members });
  const sim = new Simulation({
    seed: options.seed,
    nodes,
    plugins: (id) =>
      servicePlugins(
        id === 'db' ? 'db' : 'frontend',
        { self: id, db: 'db', members },
        options.service,
      ),
    conditions: linkConditions(options.links),
    faults: options.faults,
    codec: new JsonCodec(),
    clocks: (_id, random) => ({
      offsetMs: random.float(-options.clockSkewMs, options.clockSkewMs),
    }),
    recordMessages: true,
  });
  const drawInterval = options.service.raffleDrawIntervalMs ?? DEFAULT_DRAW_INTERVAL_MS;
  sim.onNodeStarted((id, _incarnation, node) => {
    if (id === 'db' || drawInterval <= 0) return;
    startDrawer(id, node, group, drawInterval);
  });
  await sim.start();
  sim.recordClocks();
  scheduleWorkload(sim, group, options);
  await sim.runFor(options.durationMs);
  sim.recordClocks();
  await sim.stop();
  const { history } = sim;
  const verdicts = checkHistory(history, {
    group,
    ...(options.service.clockSync === 'off' ? {} : { clockBoundMs: options.clockBoundMs }),
  });
  return { history, digest: history.digest(), verdicts, nodes, group };
}

/** As the service's front-end does: the first front-end it believes alive draws. */
function startDrawer(
  id: NodeId,
  node: MedalsNode,
  group: readonly NodeId[],
  intervalMs: number,
): void {
  const drawer = new RaffleDrawer({
    raffle: node.resolve(Tokens.Raffle),
    intervalMs,
    // The node's own scheduler scope: the drawer stops with the node, as when its process dies.
    scheduler: node.scheduler,
    isDrawer: () => group.find((fe) => fe === id || believesAlive(node, fe)) === id,
    onError: (error) =>
      node.events.emit('node:error', {
        node: id,
        component: 'raffle-drawer',
        code: 'ERR_DRAW',
        message: error.message,
      }),
  });
  drawer.start();
}

/**
 * Clients' requests at a steady rate from 1 s until the quiet stretch, each
 * at a live front-end picked by the run's random source; each is recorded
 * in the history as `workload:request` at that front-end, and a refusal
 * (a front-end cut off from a majority) as `workload:refused`.
 */
function scheduleWorkload(
  sim: Simulation,
  group: readonly NodeId[],
  options: ServiceSimulationOptions,
): void {
  if (options.requestsPerSecond <= 0) return;
  const random = sim.random.fork('workload');
  const everyMs = 1_000 / options.requestsPerSecond;
  const untilMs = options.durationMs - options.quietMs;
  let count = 0;
  for (let at = 1_000; at < untilMs; at += everyMs) {
    sim.scheduler.setTimeout(() => {
      const live = group.filter((id) => !sim.isCrashed(id));
      if (live.length === 0) return;
      const server = random.pick(live);
      count++;
      const request = { client: `c${random.int(1, 20)}`, requestId: `r${count}` };
      sim.history.record({ at: sim.now, node: server, event: 'workload:request', data: request });
      sim
        .node(server)
        .resolve(Tokens.Raffle)
        .record(request)
        .catch((err: unknown) => {
          if (sim.isCrashed(server)) return;
          sim.history.record({
            at: sim.now,
            node: server,
            event: 'workload:refused',
            data: { requestId: request.requestId, error: (err as Error).name },
          });
        });
    }, Math.round(at));
  }
}
