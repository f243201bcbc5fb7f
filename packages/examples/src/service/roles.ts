import type { EventBus, Raffle, Scheduler } from '@medals/core';
import { NodeEventBus, RealScheduler, SeededRandom, Tokens } from '@medals/core';
import { DEFAULT_DISPATCHER_ID, keyringOf, requireCredentials } from './credentials';
import { DEFAULT_REGISTRATION_TTL_MS, DispatcherApi, LeastLoadedDispatcher } from './dispatcher';
import { DispatcherRegistrar } from './dispatcher-registrar';
import { HealthChecker } from './health-checker';
import { listenHttp } from './http-server';
import type { NodeSpec, Role, RunningRole, ServiceOptions } from './service-options';
import { raffleRetention } from './service-options';
import { LocalRaffle } from './local-raffle';
import { OlympicApi } from './olympic-api';
import { frontEndGroup } from './plugins';
import { RaffleDrawer } from './raffle-drawer';
import { RegistrationVerifier } from './registration-auth';
import { RemoteTallyStore } from './remote-tally-store';
import { RoleEventHub } from './role-events';
import type { RoleEventListener, RoleEventOptions } from './role-events';
import { believesAlive, createServiceNode, describeNode } from './service-node';
import { RaffleArchiver, recentHistory } from './raffle-history/raffle-archiver';
import { raffleArchiveServer } from './raffle-history/raffle-archive-server';
import { RaffleHistoryClient } from './raffle-history/raffle-history-client';
import { createRaffleArchive, createTallyStore } from './store-factory';
import { tallyStoreServer } from './tally-store-server';

/** The parts of a running role, stopped in the order given. */
interface RoleParts {
  id: string;
  role: Role;
  url?: string;
  address?: string;
  hub: RoleEventHub;
  /** The bus of the role's node (or of its raffle), whose events listeners get too. */
  events?: EventBus;
  status: () => Record<string, unknown>;
  /** Stops what the role started, in order. */
  stops: (() => Promise<void> | void)[];
}

class StartedRole implements RunningRole {
  readonly id: string;
  readonly role: Role;
  readonly url: string | undefined;
  readonly address: string | undefined;
  readonly #parts: RoleParts;
  #stopping: Promise<void> | undefined;

  constructor(parts: RoleParts) {
    this.id = parts.id;
    this.role = parts.role;
    this.url = parts.url;
    this.address = parts.address;
    this.#parts = parts;
  }

  onEvent(listener: RoleEventListener, options?: RoleEventOptions): () => void {
    return listenToRole(this.#parts.hub, this.#parts.events, listener, options);
  }

  async status(): Promise<Record<string, unknown>> {
    return this.#parts.status();
  }

  stop(): Promise<void> {
    this.#stopping ??= runStops(this.#parts.stops);
    return this.#stopping;
  }
}

/** Runs every stop even if one fails, then reports the failures together. */
async function runStops(stops: readonly (() => Promise<void> | void)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const stop of stops) {
    try {
      await stop();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, 'several parts failed to stop');
}

/** Starts, and on failure stops again what was started so far. */
async function assemble(
  stops: (() => Promise<void> | void)[],
  build: () => Promise<RoleParts>,
): Promise<RunningRole> {
  try {
    return new StartedRole(await build());
  } catch (err) {
    await runStops([...stops].reverse()).catch(() => undefined);
    throw err;
  }
}

/**
 * How long a front-end gathers the requests it served before it multicasts
 * them to the raffle, in ms. Every batch costs the front-end and the db the
 * same exchange of about five messages (submit, order, commit and two
 * acknowledgements), each a write that wakes the other process; at one
 * client, 50 ms rather than 10 cut the two tiers' CPU per request by 15–25%
 * (same-run A/B). Requests enter the raffle, in the same total order, at
 * most this much later; draws come every 10 s.
 */
const FRONT_END_RAFFLE_BATCH_MS = 50;

/** Default of {@link ServiceOptions.raffleDrawIntervalMs}. */
const DEFAULT_RAFFLE_DRAW_INTERVAL_MS = 10_000;

/**
 * A listener given to `startRole` itself: it hears the role's events from
 * before its node starts, so none emitted while starting (a leader learned
 * during start, a first clock round) is lost, as it would be to one added
 * with `onEvent` once the role is running.
 */
export interface EarlyRoleListener extends RoleEventOptions {
  onEvent: RoleEventListener;
}

/** Attaches `listener` to a role's hub and its node's bus; returns a function that detaches it. */
function listenToRole(
  hub: RoleEventHub,
  events: EventBus | undefined,
  listener: RoleEventListener,
  options?: RoleEventOptions,
): () => void {
  const offHub = hub.on(listener, options);
  const offNode = events?.onAny((event, data) => listener(event, data));
  return () => {
    offHub();
    offNode?.();
  };
}

/** Attaches `early` to a role's hub and its node's bus, before anything starts. */
function listenEarly(
  early: EarlyRoleListener | undefined,
  hub: RoleEventHub,
  events: EventBus | undefined,
): void {
  if (early !== undefined) listenToRole(hub, events, early.onEvent, early);
}

function requireToken(spec: NodeSpec, options: ServiceOptions): void {
  if (options.token.length === 0) {
    throw new RangeError(
      `${spec.id}: the ${spec.role} role needs Cacofonix's token (set MEDALS_CACOFONIX_TOKEN)`,
    );
  }
}

/** The `db` role: a node serving the chosen tally store to the front-ends. */
export function startDb(
  spec: NodeSpec,
  options: ServiceOptions,
  early?: EarlyRoleListener,
): Promise<RunningRole> {
  const started: (() => Promise<void>)[] = [];
  return assemble(started, async () => {
    requireCredentials(spec, options);
    const store = createTallyStore(options);
    const { node } = createServiceNode(spec, 'db', options, [
      tallyStoreServer(store),
      raffleArchiveServer(
        createRaffleArchive(options),
        options.raffleArchiveIntervalMs === undefined
          ? {}
          : { archiveIntervalMs: options.raffleArchiveIntervalMs },
      ),
    ]);
    const hub = new RoleEventHub();
    listenEarly(early, hub, node.events);
    started.push(() => node.stop());
    await node.start();
    return {
      id: spec.id,
      role: 'db',
      address: node.transport.address,
      hub,
      events: node.events,
      status: () => ({ node: spec.id, role: 'db', store: options.store, ...describeNode(node) }),
      stops: [() => node.stop()],
    };
  });
}

/** The `frontend` role: the REST API over a node that reaches the db. */
export function startFrontEnd(
  spec: NodeSpec,
  options: ServiceOptions,
  early?: EarlyRoleListener,
): Promise<RunningRole> {
  const started: (() => Promise<void>)[] = [];
  return assemble(started, async () => {
    requireToken(spec, options);
    requireCredentials(spec, options);
    const hub = new RoleEventHub();
    const { node, topology } = createServiceNode(spec, 'frontend', options);
    listenEarly(early, hub, node.events);
    started.push(() => node.stop());
    await node.start();
    const report = (error: Error & { code?: string }): void =>
      node.events.emit('node:error', {
        node: spec.id,
        component: 'frontend',
        code: error.code ?? 'ERR_UNKNOWN',
        message: error.message,
      });
    const store = new RemoteTallyStore({
      transport: node.transport,
      db: topology.db,
      cache: options.readCache ?? true,
      scheduler: node.scheduler,
      ...(options.startTimeoutMs === undefined ? {} : { connectTimeoutMs: options.startTimeoutMs }),
      onInvalidMessage: report,
    });
    await store.start();
    started.push(() => store.stop());
    const raffle = node.resolve(Tokens.Raffle);
    const history = new RaffleHistoryClient({
      transport: node.transport,
      db: topology.db,
      raffle,
      onInvalidMessage: report,
    });
    history.start();
    started.push(async () => history.stop());
    const api = new OlympicApi({
      nodeId: spec.id,
      store,
      raffle,
      raffleArchive: history,
      token: options.token,
      raffleBatchMs: FRONT_END_RAFFLE_BATCH_MS,
      ...(options.httpServer?.maxBodyBytes === undefined
        ? {}
        : { maxBodyBytes: options.httpServer.maxBodyBytes }),
      status: () => ({
        role: 'frontend',
        db: topology.db,
        cachedKeys: store.cachedKeys,
        ...describeNode(node),
      }),
      healthy: () => node.state === 'running' && believesAlive(node, topology.db),
      onError: report,
      onRequest: (request) => hub.emit('http:request', { node: spec.id, ...request }),
      observesRequests: () => hub.requestsListened,
    });
    const group = frontEndGroup(topology);
    const drawer = startDrawer(
      options,
      raffle,
      report,
      () => group.find((fe) => believesAlive(node, fe)) === spec.id,
      node.scheduler,
    );
    started.push(async () => drawer?.stop());
    const server = await listenHttp(spec.http ?? '127.0.0.1:0', api.handle, options.httpServer);
    started.push(() => server.close());
    const registrar = startRegistrar(spec, options, server.url, api, hub, report, node.scheduler);
    return {
      id: spec.id,
      role: 'frontend',
      url: server.url,
      address: node.transport.address,
      hub,
      events: node.events,
      status: () => api.status(),
      stops: [
        // Clients stop being sent here first: the dispatcher drops it when registrations stop.
        () => registrar?.stop(),
        () => drawer?.stop(),
        () => server.close(),
        () => api.stop(),
        async () => history.stop(),
        () => store.stop(),
        () => node.stop(),
      ],
    };
  });
}

/** How often the dispatcher looks for front-ends whose registrations stopped, in ms. */
const EXPIRY_SWEEP_MS = 100;

/**
 * The `dispatcher` role: assigns clients to the least-loaded live front-end.
 * With credentials (the cluster secret, or the keys it shares with each
 * front-end) it takes the front-ends' signed registrations, each verified
 * with the key of the front-end it claims to be, and serves each while they
 * keep coming; front-ends configured in `spec.frontEnds` are served from the
 * start, until they register.
 */
export function startDispatcher(
  spec: NodeSpec,
  options: ServiceOptions,
  early?: EarlyRoleListener,
): Promise<RunningRole> {
  const started: (() => Promise<void> | void)[] = [];
  return assemble(started, async () => {
    requireCredentials(spec, options);
    const configured = spec.frontEnds ?? {};
    const keyring = keyringOf(spec.id, options);
    const hub = new RoleEventHub();
    listenEarly(early, hub, undefined);
    const scheduler = new RealScheduler().scope();
    started.push(() => scheduler.dispose());
    const dispatcher = new LeastLoadedDispatcher(configured, { now: () => scheduler.now() });
    const down = (server: string, reason: string): void =>
      hub.emit('dispatcher:serverDown', { node: spec.id, server, reason });
    const health = new HealthChecker(dispatcher, {
      scheduler,
      onChange: (server, alive, reason) =>
        alive ? hub.emit('dispatcher:serverUp', { node: spec.id, server }) : down(server, reason),
    });
    const ttlMs = DEFAULT_REGISTRATION_TTL_MS;
    const api = new DispatcherApi(dispatcher, {
      onAssigned: (server) =>
        hub.emit('dispatcher:assigned', { node: spec.id, server: server.url, load: server.load }),
      ...(options.httpServer?.maxBodyBytes === undefined
        ? {}
        : { maxBodyBytes: options.httpServer.maxBodyBytes }),
      ...(keyring !== undefined
        ? {
            registrations: {
              verifier: new RegistrationVerifier({ keyFor: (id) => keyring.keyFor(id) }),
              ttlMs,
              onRegistered: (change, server) =>
                hub.emit('dispatcher:registered', {
                  node: spec.id,
                  id: server.id,
                  server: server.url,
                  change,
                }),
              onRefused: (status, reason) =>
                hub.emit('dispatcher:registrationRefused', { node: spec.id, status, reason }),
            },
          }
        : {}),
    });
    const server = await listenHttp(spec.http ?? '127.0.0.1:0', api.handle, options.httpServer);
    started.push(() => server.close());
    health.start();
    started.push(() => health.stop());
    scheduler.setInterval(() => {
      for (const lapsed of dispatcher.expire()) {
        down(lapsed.url, `no registration from ${lapsed.id} for ${ttlMs} ms`);
      }
    }, EXPIRY_SWEEP_MS);
    return {
      id: spec.id,
      role: 'dispatcher',
      url: server.url,
      hub,
      status: () => ({ node: spec.id, role: 'dispatcher', servers: dispatcher.servers() }),
      stops: [() => health.stop(), () => scheduler.dispose(), () => server.close()],
    };
  });
}

/** The `single` role: the REST API with the store in the same process, the report's baseline. */
export function startSingle(
  spec: NodeSpec,
  options: ServiceOptions,
  early?: EarlyRoleListener,
): Promise<RunningRole> {
  const started: (() => Promise<void>)[] = [];
  return assemble(started, async () => {
    requireToken(spec, options);
    const hub = new RoleEventHub();
    const events = new NodeEventBus();
    listenEarly(early, hub, events);
    const report = (error: Error & { code?: string }): void =>
      events.emit('node:error', {
        node: spec.id,
        component: 'single',
        code: error.code ?? 'ERR_UNKNOWN',
        message: error.message,
      });
    const store = createTallyStore(options);
    await store.start();
    started.push(() => store.stop());
    const raffle = new LocalRaffle({
      server: spec.id,
      every: options.raffleEvery,
      random: SeededRandom.fromEntropy(),
      events,
      ...raffleRetention(options),
    });
    const archive = createRaffleArchive(options);
    await archive.start();
    // Kept past the retention until archived, from the first entry on.
    raffle.archived(0);
    started.push(() => archive.stop());
    const archiver = new RaffleArchiver({
      archive,
      fetch: async (afterEntry, afterDraw, limit) =>
        recentHistory(raffle, afterEntry, afterDraw, limit),
      scheduler: new RealScheduler(),
      ...(options.raffleArchiveIntervalMs === undefined
        ? {}
        : { intervalMs: options.raffleArchiveIntervalMs }),
      onArchived: (upTo) => raffle.archived(upTo),
      onError: report,
    });
    archiver.start();
    started.push(() => archiver.stop());
    const api = new OlympicApi({
      nodeId: spec.id,
      store,
      raffle,
      raffleArchive: archive,
      token: options.token,
      ...(options.httpServer?.maxBodyBytes === undefined
        ? {}
        : { maxBodyBytes: options.httpServer.maxBodyBytes }),
      status: () => ({ role: 'single', store: options.store }),
      onError: report,
      onRequest: (request) => hub.emit('http:request', { node: spec.id, ...request }),
      observesRequests: () => hub.requestsListened,
    });
    const drawer = startDrawer(options, raffle, report, () => true, new RealScheduler());
    started.push(async () => drawer?.stop());
    const server = await listenHttp(spec.http ?? '127.0.0.1:0', api.handle, options.httpServer);
    started.push(() => server.close());
    return {
      id: spec.id,
      role: 'single',
      url: server.url,
      hub,
      events,
      status: () => api.status(),
      stops: [
        () => drawer?.stop(),
        () => server.close(),
        () => api.stop(),
        () => archiver.stop(),
        () => archive.stop(),
        () => store.stop(),
      ],
    };
  });
}

/** Starts drawing raffle winners on the configured interval, unless it is 0. */
function startDrawer(
  options: ServiceOptions,
  raffle: Raffle,
  onError: (error: Error) => void,
  isDrawer: () => boolean,
  scheduler: Scheduler,
): RaffleDrawer | undefined {
  const intervalMs = options.raffleDrawIntervalMs ?? DEFAULT_RAFFLE_DRAW_INTERVAL_MS;
  if (intervalMs <= 0) return undefined;
  const drawer = new RaffleDrawer({ raffle, intervalMs, isDrawer, scheduler, onError });
  drawer.start();
  return drawer;
}

/** Starts registering a front-end with its dispatcher, when its spec names one. */
function startRegistrar(
  spec: NodeSpec,
  options: ServiceOptions,
  url: string,
  api: OlympicApi,
  hub: RoleEventHub,
  report: (error: Error & { code?: string }) => void,
  scheduler: Scheduler,
): DispatcherRegistrar | undefined {
  const dispatcherUrl = spec.dispatcher;
  // requireCredentials made sure the key is there.
  const key = keyringOf(spec.id, options)?.keyFor(spec.dispatcherId ?? DEFAULT_DISPATCHER_ID);
  if (dispatcherUrl === undefined || key === undefined) return undefined;
  const registrar = new DispatcherRegistrar({
    dispatcherUrl,
    id: spec.id,
    url,
    key,
    scheduler,
    load: () => {
      const { inFlight, activeClients } = api.load;
      return { inFlight, clients: activeClients };
    },
    onChange: (registered, reason, refused) => {
      if (registered) {
        hub.emit('frontend:registered', { node: spec.id, dispatcher: dispatcherUrl });
        return;
      }
      hub.emit('frontend:unregistered', { node: spec.id, dispatcher: dispatcherUrl, reason });
      // A wrong key or clocks too far apart will not mend by retrying: the operator must know.
      if (refused) {
        report(
          Object.assign(new Error(`registration refused: ${reason}`), {
            code: 'ERR_REGISTRATION_REFUSED',
          }),
        );
      }
    },
  });
  registrar.start();
  return registrar;
}
