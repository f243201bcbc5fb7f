/**
 * Entry point of a load worker process, forked by `runLoad`: it gets its
 * plan over IPC, opens its connections, says it is ready, runs when told,
 * says when its measured window starts and sends back what it measured. It exits when the coordinator
 * disconnects, so a coordinator that dies takes its workers with it.
 */
import { WorkerLoad } from './worker-load';
import type { CoordinatorMessage, WorkerMessage } from './worker-protocol';

let load: WorkerLoad | undefined;

function reply(message: WorkerMessage): void {
  process.send?.(message);
}

function fail(error: unknown): void {
  reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}

process.on('message', (message: CoordinatorMessage) => {
  if (message.type === 'plan') {
    try {
      load = new WorkerLoad(message.plan);
    } catch (error) {
      fail(error);
      return;
    }
    load.connect().then(() => reply({ type: 'ready' }), fail);
  } else if (message.type === 'start' && load) {
    load
      .run(() => reply({ type: 'measuring' }))
      .then((report) => reply({ type: 'report', report }), fail);
  }
});
process.on('disconnect', () => process.exit(0));
