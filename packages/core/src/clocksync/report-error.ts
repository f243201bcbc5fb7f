import type { EventBus } from '../contracts/events';
import type { NodeId } from '../contracts/transport';

/** Reports a dropped message or a failed background step as `node:error`. */
export function reportError(events: EventBus, node: NodeId, component: string, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  events.emit('node:error', {
    node,
    component,
    code: typeof code === 'string' ? code : 'ERR_UNKNOWN',
    message: error.message,
  });
}
