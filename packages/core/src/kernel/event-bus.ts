import EventEmitter from 'eventemitter3';
import type {
  AnyEventListener,
  EventBus,
  MedalsEventName,
  MedalsEvents,
} from '../contracts/events';

/** A node's {@link EventBus} on eventemitter3, with a tap for recorders. */
export class NodeEventBus implements EventBus {
  readonly #emitter = new EventEmitter();
  readonly #any = new Set<AnyEventListener>();

  emit<K extends MedalsEventName>(event: K, data: MedalsEvents[K]): void {
    for (const listener of this.#any) listener(event, data);
    this.#emitter.emit(event, data);
  }

  on<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  once<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }

  off<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  onAny(listener: AnyEventListener): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }

  /** Drops every listener. */
  clear(): void {
    this.#emitter.removeAllListeners();
    this.#any.clear();
  }
}
