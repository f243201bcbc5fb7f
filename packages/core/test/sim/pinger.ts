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
    'pinger:pong': { from: NodeId; to: NodeId; rttMs: number };
    'pinger:lost': { from: NodeId; to: NodeId; reason: string };
  }
}

const PINGER = Symbol('Pinger');

/** A toy component for simulator tests: pings a random peer on an interval and reports the outcome. */
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
  ) {}

  start(): void {
    this.transport.handle('ping', (sentAt: number) => sentAt);
    this.#timer = this.scheduler.setInterval(() => void this.#ping(), 100);
  }

  stop(): void {
    this.#timer?.cancel();
  }

  async #ping(): Promise<void> {
    const to = this.random.pick(this.members.filter((m) => m !== this.id));
    const sentAt = this.scheduler.now();
    try {
      await this.transport.request('' + to, 'ping', sentAt, { timeoutMs: 50 });
      this.events.emit('pinger:pong', { from: this.id, to, rttMs: this.scheduler.now() - sentAt });
    } catch (err) {
      this.events.emit('pinger:lost', { from: this.id, to, reason: (err as Error).name });
    }
  }
}

export const pinger = (): Plugin => (ctx) => ctx.component(PINGER, { useClass: Pinger });
