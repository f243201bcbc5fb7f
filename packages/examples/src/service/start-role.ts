import type { NodeSpec, RunningRole, ServiceOptions } from './service-options';
import { startDb, startDispatcher, startFrontEnd, startSingle } from './roles';
import type { EarlyRoleListener } from './roles';

/**
 * Starts one role of the Olympic service in this process and resolves once
 * it serves: `db` (the tally store over the node-to-node transport),
 * `frontend` (the REST API, forwarding to the db), `dispatcher` (assigning
 * clients to front-ends) or `single` (the REST API with the store in-process).
 * Rejects, having released whatever it had started, if the role cannot start.
 *
 * `early` hears every event of the role from before its node starts (see
 * {@link EarlyRoleListener}); `RunningRole.onEvent` adds listeners later.
 */
export function startRole(
  spec: NodeSpec,
  options: ServiceOptions,
  early?: EarlyRoleListener,
): Promise<RunningRole> {
  switch (spec.role) {
    case 'db':
      return startDb(spec, options, early);
    case 'frontend':
      return startFrontEnd(spec, options, early);
    case 'dispatcher':
      return startDispatcher(spec, options, early);
    case 'single':
      return startSingle(spec, options, early);
  }
}
