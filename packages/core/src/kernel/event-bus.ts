import type {
  AnyEventListener,
  EventBus,
  MedalsEventName,
  MedalsEvents,
} from '../contracts/events';
import { reportError } from '../contracts/events';
import type { NodeId } from '../contracts/transport';

/** Options of {@link NodeEventBus}. */
export interface NodeEventBusOptions {
  /** The node the bus belongs to, named in the `node:error` events it reports. Default `'unknown'`. */
  node?: NodeId;
}

type Listener = (data: never) => void;

interface Subscription {
  readonly listener: Listener;
  readonly once: boolean;
}

/**
 * A node's {@link EventBus}, with a tap for recorders. Listeners are
 * isolated: one that throws does not stop the others nor escape into the
 * component that emitted (which may be running inside a timer or a message
 * handler); its error is reported as `node:error` with the event's name as
 * `component`. A `node:error` listener that throws is reported once as
 * component `'event-bus'`; if that report throws again it is dropped, so a
 * faulty error listener cannot recurse.
 */
export class NodeEventBus implements EventBus {
  readonly #node: NodeId;
  readonly #listeners = new Map<MedalsEventName, Subscription[]>();
  readonly #any = new Set<AnyEventListener>();
  /** A listener's failure is being reported: a failure of that report is dropped. */
  #reporting = false;

  constructor(options: NodeEventBusOptions = {}) {
    this.#node = options.node ?? 'unknown';
  }

  emit<K extends MedalsEventName>(event: K, data: MedalsEvents[K]): void {
    for (const listener of [...this.#any]) {
      try {
        listener(event, data);
      } catch (err) {
        this.#listenerFailed(event, err);
      }
    }
    const subscriptions = this.#listeners.get(event);
    if (!subscriptions) return;
    // A snapshot: listeners added or removed while emitting take effect from the next event.
    for (const subscription of [...subscriptions]) {
      if (subscription.once) this.#remove(event, subscription);
      try {
        (subscription.listener as (data: MedalsEvents[K]) => void)(data);
      } catch (err) {
        this.#listenerFailed(event, err);
      }
    }
  }

  on<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    return this.#add(event, { listener, once: false });
  }

  once<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    return this.#add(event, { listener, once: true });
  }

  /** Removes every subscription of `listener` to `event`. */
  off<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this {
    const subscriptions = this.#listeners.get(event);
    if (!subscriptions) return this;
    const kept = subscriptions.filter((s) => s.listener !== listener);
    if (kept.length > 0) this.#listeners.set(event, kept);
    else this.#listeners.delete(event);
    return this;
  }

  onAny(listener: AnyEventListener): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }

  /** Drops every listener. */
  clear(): void {
    this.#listeners.clear();
    this.#any.clear();
  }

  #add(event: MedalsEventName, subscription: Subscription): this {
    const subscriptions = this.#listeners.get(event);
    if (subscriptions) subscriptions.push(subscription);
    else this.#listeners.set(event, [subscription]);
    return this;
  }

  #remove(event: MedalsEventName, subscription: Subscription): void {
    const subscriptions = this.#listeners.get(event);
    const index = subscriptions?.indexOf(subscription) ?? -1;
    if (index < 0) return;
    subscriptions!.splice(index, 1);
    if (subscriptions!.length === 0) this.#listeners.delete(event);
  }

  #listenerFailed(event: MedalsEventName, err: unknown): void {
    if (this.#reporting) return;
    this.#reporting = true;
    try {
      reportError(this, this.#node, event === 'node:error' ? 'event-bus' : event, err);
    } finally {
      this.#reporting = false;
    }
  }
}
