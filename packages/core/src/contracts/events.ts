import type { NodeId } from './transport';

/**
 * Every event a node reports, by name (DESIGN.md seam 6). Components emit
 * them on their node's {@link EventBus}; logging, metrics, the CLI and the
 * simulator's history subscribe. Each event carries one plain, serialisable
 * object so histories can be recorded and compared byte for byte.
 *
 * Packages outside core add their own events by declaration merging:
 * `declare module '@medals/core' { interface MedalsEvents { myEvent: {...} } }`.
 */
export interface MedalsEvents {
  /** The node finished starting every component. */
  'node:started': { node: NodeId };
  /** The node stopped every component. */
  'node:stopped': { node: NodeId };
  /** A component failed in the background, or a bad message was dropped. */
  'node:error': { node: NodeId; component: string; code: string; message: string };
}

/** Name of a node event. */
export type MedalsEventName = keyof MedalsEvents;

/** A listener of any event, for recorders and loggers. */
export type AnyEventListener = <K extends MedalsEventName>(event: K, data: MedalsEvents[K]) => void;

/** A node's typed event bus. */
export interface EventBus {
  emit<K extends MedalsEventName>(event: K, data: MedalsEvents[K]): void;
  on<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  once<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  off<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  /** Subscribes to every event; returns a function that unsubscribes. */
  onAny(listener: AnyEventListener): () => void;
}
