import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NodeSpec, Role, ServiceOptions } from '../service';
import { formatAddressList } from './address-list';
import type { LogLevel } from './event-log';
import { nodeMessageSchema } from './ipc-messages';
import type { LauncherMessage, MemoryMessage, NodeMessage } from './ipc-messages';
import { nodeProcessEnv, serviceFlagArgs } from './service-flags';
import { UserError } from './user-error';

/**
 * The compiled CLI of this package, which the launcher forks once per node
 * (`medals node`); found from the package's root, so the launcher finds it
 * whether it runs from `dist`, from the benchmarks' build or from sources.
 */
export const defaultCliPath = join(
  dirname(require.resolve('@medals/examples/package.json')),
  'dist',
  'cli.js',
);

/** A node process that reported ready. */
export interface LaunchedNode {
  readonly id: string;
  readonly role: Role;
  readonly pid: number;
  /** REST base URL (frontend, dispatcher, single). */
  readonly url: string | undefined;
  /** Node-to-node address (db, frontend). */
  readonly address: string | undefined;
}

/** How a node process ended. */
export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the group stopped it (otherwise it died or was killed from outside). */
  readonly expected: boolean;
}

/** Options of {@link NodeProcessGroup}. */
export interface NodeProcessGroupOptions {
  /** The compiled `cli.js` to fork. Default: this package's `dist/cli.js`. */
  cliPath?: string;
  /** Passed to each node as `--log-level`: it forwards events at this level and above (and always info and above). Default `'info'`. */
  logLevel?: LogLevel;
  /** How long a node may take to report ready, in ms. Default 30,000. */
  readyTimeoutMs?: number;
  /** How long a node may take to stop after SIGTERM before it gets SIGKILL, in ms. Default 5,000. */
  stopGraceMs?: number;
  /** Working directory of the nodes. Default: this process's. */
  cwd?: string;
  /** Passes `--verbose` to each node: one that cannot start tells its stack too. Default false. */
  verbose?: boolean;
  /**
   * Start each node with `--expose-gc`, so that {@link NodeProcessGroup.memory}
   * reports its heap after a full garbage collection (what is live, not
   * what awaits collection). Only the launcher can ask for one, over the
   * IPC channel. Default false: a node's collector runs on its own.
   */
  exposeGc?: boolean;
}

/** A node's memory as {@link NodeProcessGroup.memory} reads it, in bytes. */
export interface NodeMemory {
  readonly id: string;
  readonly pid: number;
  /** Resident set size. */
  readonly rssBytes: number;
  /** V8 heap in use. */
  readonly heapUsedBytes: number;
  /** V8 heap reserved. */
  readonly heapTotalBytes: number;
  /** Memory of C++ objects bound to JavaScript ones (buffers among them). */
  readonly externalBytes: number;
  /** Whether a full garbage collection ran just before (see {@link NodeProcessGroupOptions.exposeGc}). */
  readonly afterGc: boolean;
  /** How long that collection paused the node, in ms (0 without one). */
  readonly gcMs: number;
}

/**
 * A node did not come up: it said why (its message, then the last lines it
 * wrote to stderr), exited first, or did not report ready in time.
 */
export class NodeStartError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'NodeStartError';
  }
}

/** What a {@link NodeProcessGroup} reports. */
export interface NodeProcessGroupEvents {
  /** An event a node forwarded (see `forwarded` in event-log.ts). */
  event: [node: string, event: string, data: unknown];
  /** A line a node wrote to its stdout or stderr. */
  output: [node: string, stream: 'stdout' | 'stderr', line: string];
  /** A node process ended. */
  exit: [node: string, exit: NodeExit];
}

interface Child {
  readonly spec: NodeSpec;
  readonly options: ServiceOptions;
  readonly process: ChildProcess;
  readonly exited: Promise<NodeExit>;
  ready: LaunchedNode | undefined;
  stopping: boolean;
  exit: NodeExit | undefined;
  /** {@link NodeProcessGroup.memory} requests awaiting their answer, by seq. */
  readonly memoryRequests: Map<number, (message: MemoryMessage) => void>;
}

/**
 * The node processes of one launch: forks `medals node` per spec, waits for
 * each to report ready over IPC, relays their events and output, and stops
 * them (SIGTERM, then SIGKILL after a grace period). Each node runs in its
 * own process group, so a Ctrl+C in the terminal reaches only the launcher,
 * which stops the nodes in order; and each node stops itself when its IPC
 * channel closes, so a launcher that dies, even by SIGKILL, leaves no orphan.
 */
export class NodeProcessGroup extends EventEmitter<NodeProcessGroupEvents> {
  readonly #children = new Map<string, Child>();
  readonly #cliPath: string;
  readonly #logLevel: LogLevel;
  readonly #readyTimeoutMs: number;
  readonly #stopGraceMs: number;
  readonly #cwd: string | undefined;
  readonly #exposeGc: boolean;
  #memorySeq = 0;
  readonly #verbose: boolean;
  /** {@link stopAll} has begun: nothing is started or restarted any more. */
  #closed = false;

  constructor(options: NodeProcessGroupOptions = {}) {
    super();
    this.#cliPath = options.cliPath ?? defaultCliPath;
    this.#logLevel = options.logLevel ?? 'info';
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.#stopGraceMs = options.stopGraceMs ?? 5_000;
    this.#cwd = options.cwd;
    this.#exposeGc = options.exposeGc ?? false;
    this.#verbose = options.verbose ?? false;
  }

  /** The nodes that reported ready and have not exited, in start order. */
  get nodes(): LaunchedNode[] {
    return [...this.#children.values()]
      .filter((child) => child.ready !== undefined && child.exit === undefined)
      .map((child) => child.ready as LaunchedNode);
  }

  /** The running incarnation of node `id` once it reported ready, undefined while it is down or starting. */
  node(id: string): LaunchedNode | undefined {
    const child = this.#children.get(id);
    return child?.exit === undefined ? child?.ready : undefined;
  }

  /**
   * Forks `medals node` for `spec` with `options` and resolves once it serves.
   * Rejects with the node's own explanation if it exits or reports failure
   * first, or if it is not ready in time (it is then killed).
   */
  spawn(spec: NodeSpec, options: ServiceOptions): Promise<LaunchedNode> {
    if (this.#children.has(spec.id)) throw new RangeError(`a node ${spec.id} was already launched`);
    return this.#fork(spec, options);
  }

  /**
   * Starts node `id` again, with the spec and options it was first launched
   * with (same role, id and addresses, except ports it let the system pick),
   * once its process has exited; resolves as {@link spawn} does. Rejects
   * once {@link stopAll} has begun.
   */
  restart(id: string): Promise<LaunchedNode> {
    const previous = this.#get(id);
    if (this.#closed)
      return Promise.reject(new Error(`${id} not restarted: the group is stopping`));
    if (previous.exit === undefined) {
      return Promise.reject(new Error(`${id} not restarted: it is still running`));
    }
    // The new process is the node's next incarnation: it knows it lost its memory.
    const incarnation = (previous.spec.incarnation ?? 1) + 1;
    return this.#fork({ ...previous.spec, incarnation }, previous.options);
  }

  #fork(spec: NodeSpec, options: ServiceOptions): Promise<LaunchedNode> {
    const args = ['node', ...nodeArgs(spec, options, this.#logLevel)];
    if (this.#verbose) args.push('--verbose');
    const child = fork(this.#cliPath, args, {
      cwd: this.#cwd,
      env: nodeProcessEnv(options),
      ...(this.#exposeGc ? { execArgv: [...process.execArgv, '--expose-gc'] } : {}),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    const exited = new Promise<NodeExit>((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal, expected: state.stopping };
        state.exit = exit;
        resolve(exit);
        this.emit('exit', spec.id, exit);
      });
    });
    const state: Child = {
      spec,
      options,
      process: child,
      exited,
      ready: undefined,
      stopping: false,
      exit: undefined,
      memoryRequests: new Map(),
    };
    this.#children.set(spec.id, state);
    const lastErrors: string[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source === null) continue;
      createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
        if (stream === 'stderr') {
          lastErrors.push(line);
          if (lastErrors.length > 20) lastErrors.shift();
        }
        this.emit('output', spec.id, stream, line);
      });
    }

    return new Promise<LaunchedNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(`${spec.id} did not report ready within ${this.#readyTimeoutMs} ms`);
        child.kill('SIGKILL');
      }, this.#readyTimeoutMs);
      const fail = (message: string): void => {
        clearTimeout(timer);
        const detail = lastErrors.length > 0 ? `\n${lastErrors.join('\n')}` : '';
        reject(new NodeStartError(message + detail));
      };
      // The fork itself failed (the CLI missing, too many processes): no 'exit' may follow.
      child.once('error', (err) => fail(`${spec.id} could not be started: ${err.message}`));
      child.on('message', (raw: unknown) => {
        const parsed = nodeMessageSchema.safeParse(raw);
        if (!parsed.success) {
          this.emit(
            'output',
            spec.id,
            'stderr',
            `sent a malformed IPC message: ${parsed.error.message}`,
          );
          return;
        }
        const message: NodeMessage = parsed.data;
        if (message.type === 'event') {
          this.emit('event', spec.id, message.event, message.data);
        } else if (message.type === 'failed') {
          fail(message.message);
        } else if (message.type === 'memory') {
          state.memoryRequests.get(message.seq)?.(message);
        } else if (state.ready === undefined) {
          clearTimeout(timer);
          state.ready = {
            id: spec.id,
            role: message.role,
            pid: message.pid,
            url: message.url,
            address: message.address,
          };
          resolve(state.ready);
        }
      });
      void exited.then((exit) => {
        if (state.ready === undefined) {
          fail(`${spec.id} exited before it was ready (${exit.signal ?? `code ${exit.code}`})`);
        }
      });
    });
  }

  /**
   * Node `id`'s memory, as the node reads it when asked over the IPC
   * channel: after a full garbage collection when the group was made with
   * `exposeGc`.
   *
   * @throws Error if the node is not running, exits first, or does not answer within `timeoutMs`
   */
  memory(id: string, timeoutMs = 10_000): Promise<NodeMemory> {
    const child = this.#get(id);
    const pid = child.ready?.pid;
    if (child.exit !== undefined || pid === undefined || !child.process.connected) {
      return Promise.reject(new Error(`${id} is not running: its memory cannot be read`));
    }
    const seq = this.#memorySeq++;
    return new Promise<NodeMemory>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        child.memoryRequests.delete(seq);
        child.process.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`${id} did not report its memory within ${timeoutMs} ms`));
      }, timeoutMs);
      const onExit = (): void => {
        settle();
        reject(new Error(`${id} exited before it reported its memory`));
      };
      child.process.once('exit', onExit);
      child.memoryRequests.set(seq, (message) => {
        settle();
        const { rssBytes, heapUsedBytes, heapTotalBytes, externalBytes, afterGc, gcMs } = message;
        resolve({ id, pid, rssBytes, heapUsedBytes, heapTotalBytes, externalBytes, afterGc, gcMs });
      });
      const request: LauncherMessage = { type: 'memory', seq };
      child.process.send(request);
    });
  }

  /** Sends `signal` to the node `id` (SIGKILL by default) and waits until it has exited. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<NodeExit> {
    const child = this.#get(id);
    if (child.exit !== undefined) return child.exit;
    child.process.kill(signal);
    return child.exited;
  }

  /** Stops the node `id`: SIGTERM, then SIGKILL if it has not exited after the grace period. */
  async stop(id: string): Promise<NodeExit> {
    const child = this.#get(id);
    if (child.exit !== undefined) return child.exit;
    child.stopping = true;
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), this.#stopGraceMs);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops every node, stage by stage: the ids of each stage stop together,
   * and any node in no stage stops with the last. Resolves once all exited.
   */
  async stopAll(stages: readonly (readonly string[])[] = []): Promise<void> {
    this.#closed = true;
    const staged = new Set(stages.flat());
    const rest = [...this.#children.keys()].filter((id) => !staged.has(id));
    for (const stage of [...stages, rest]) {
      await Promise.all(stage.filter((id) => this.#children.has(id)).map((id) => this.stop(id)));
    }
  }

  #get(id: string): Child {
    const child = this.#children.get(id);
    if (child === undefined) throw new RangeError(`no node ${id} was launched`);
    return child;
  }
}

/** The `medals node` arguments of `spec`. */
export function nodeArgs(spec: NodeSpec, options: ServiceOptions, logLevel: LogLevel): string[] {
  const args = ['--role', spec.role, '--id', spec.id, '--log-level', logLevel];
  if (spec.listen !== undefined) args.push('--listen', spec.listen);
  if (spec.http !== undefined) args.push('--http', spec.http);
  if (spec.peers !== undefined) args.push('--peers', formatAddressList(spec.peers));
  if (spec.db !== undefined) args.push('--db', spec.db);
  if (spec.frontEnds !== undefined) args.push('--front-ends', formatAddressList(spec.frontEnds));
  if (spec.dispatcher !== undefined) args.push('--dispatcher', spec.dispatcher);
  if (spec.incarnation !== undefined) args.push('--incarnation', String(spec.incarnation));
  if (options.clockOffsetMs !== undefined) args.push(`--clock-offset=${options.clockOffsetMs}`);
  return [...args, ...serviceFlagArgs(options)];
}
