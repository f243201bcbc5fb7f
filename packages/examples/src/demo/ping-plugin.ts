import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import type {
  EventBus,
  NodeId,
  Plugin,
  Random,
  ScopedScheduler,
  Startable,
  Timer,
  Transport,
} from '@medals/core';
import { Tokens } from '@medals/core';

declare module '@medals/core' {
  interface MedalsEvents {
    /** A ping was answered. */
    'demo:pong': { from: NodeId; to: NodeId; rttMs: number };
    /** A ping got no answer. */
    'demo:lost': { from: NodeId; to: NodeId; reason: string };
  }
}

/** Options of {@link ping}. */
export interface PingOptions {
  /** How often each node pings a random peer, in ms. Default 500. */
  intervalMs?: number;
  /** How long a ping may take, in ms. Default 250. */
  timeoutMs?: number;
}

const PINGER = Symbol.for('@medals/examples/Pinger');
const PING_OPTIONS = Symbol.for('@medals/examples/PingOptions');

/** Pings a random peer on an interval and reports each answer or loss on the event bus. */
@injectable()
export class Pinger implements Startable {
  #timer: Timer | undefined;

  constructor(
    @inject(Tokens.NodeId) private readonly id: NodeId,
    @inject(Tokens.Members) private readonly members: readonly NodeId[],
    @inject(Tokens.Transport) private readonly transport: Transport,
    @inject(Tokens.Scheduler) private readonly scheduler: ScopedScheduler,
    @inject(Tokens.Random) private readonly random: Random,
    @inject(Tokens.Events) private readonly events: EventBus,
    @inject(PING_OPTIONS) private readonly options: Required<PingOptions>,
  ) {}

  start(): void {
    this.transport.handle('demo:ping', (sentAt: number) => sentAt, {
      validate: (p) => {
        if (typeof p !== 'number' || !Number.isFinite(p))
          throw new TypeError('ping carries its send time');
        return p;
      },
    });
    this.#timer = this.scheduler.setInterval(() => void this.#ping(), this.options.intervalMs);
  }

  stop(): void {
    this.#timer?.cancel();
    this.transport.unhandle('demo:ping');
  }

  async #ping(): Promise<void> {
    const to = this.random.pick(this.members.filter((m) => m !== this.id));
    const sentAt = this.scheduler.now();
    try {
      await this.transport.request(to, 'demo:ping', sentAt, { timeoutMs: this.options.timeoutMs });
      this.events.emit('demo:pong', { from: this.id, to, rttMs: this.scheduler.now() - sentAt });
    } catch (err) {
      this.events.emit('demo:lost', { from: this.id, to, reason: (err as Error).name });
    }
  }
}

/** A plugin that makes each node ping its peers, to watch a cluster's network at work. */
export function ping(options: PingOptions = {}): Plugin {
  const resolved: Required<PingOptions> = {
    intervalMs: options.intervalMs ?? 500,
    timeoutMs: options.timeoutMs ?? 250,
  };
  return (ctx) => {
    ctx.container.register(PING_OPTIONS, { useValue: resolved });
    ctx.component(PINGER, { useClass: Pinger });
  };
}
