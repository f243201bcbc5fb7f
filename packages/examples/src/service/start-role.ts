import type { NodeSpec, RunningRole, ServiceOptions } from './index';
import { startDb, startDispatcher, startFrontEnd, startSingle } from './roles';

/**
 * Starts one role of the Olympic service in this process and resolves once
 * it serves: `db` (the tally store over the node-to-node transport),
 * `frontend` (the REST API, forwarding to the db), `dispatcher` (assigning
 * clients to front-ends) or `single` (the REST API with the store in-process).
 * Rejects, having released whatever it had started, if the role cannot start.
 */
export function startRole(spec: NodeSpec, options: ServiceOptions): Promise<RunningRole> {
  switch (spec.role) {
    case 'db':
      return startDb(spec, options);
    case 'frontend':
      return startFrontEnd(spec, options);
    case 'dispatcher':
      return startDispatcher(spec, options);
    case 'single':
      return startSingle(spec, options);
  }
}
