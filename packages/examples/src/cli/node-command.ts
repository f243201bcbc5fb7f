import { parseArgs } from 'node:util';
import { CredentialsError, requireCredentials, startRole } from '../service';
import type { NodeSpec, Role, RunningRole } from '../service';
import { parseAddressList } from './address-list';
import { EventLog, forwarded, parseLogLevel } from './event-log';
import type { LogLevel } from './event-log';
import { launcherMessageSchema } from './ipc-messages';
import type { NodeMessage } from './ipc-messages';
import { memoryReport } from './memory-report';
import {
  integerFlag,
  serviceFlags,
  serviceFlagsUsage,
  serviceOptionsFromFlags,
} from './service-flags';
import { UsageError } from './usage-error';

export const nodeUsage = `usage: medals node --role db|frontend|dispatcher|single --id <id> [options]

Runs one process of the service, for clusters across machines (\`medals cluster\`
starts one of these per role on this machine). Nodes that talk to each other
authenticate with MEDALS_SECRET (the cluster secret, the same on every host)
or MEDALS_PEER_KEYS (this node's own pair keys); without either, a db with
front-ends, a front-end, or a dispatcher that would take registrations
refuses to start unless --insecure says so.

options:
  --listen host:port              node-to-node address (db, frontend; default 127.0.0.1:0)
  --http host:port                REST address (frontend, dispatcher, single; default 127.0.0.1:0)
  --peers id=addr,…               the other db and front-end nodes, e.g. db=tcp://10.0.0.1:7000
  --db <id>                       which node is the db (db)
  --front-ends id=url,…           dispatcher: front-ends' REST URLs, served until they register
  --dispatcher <url>              frontend: register there, e.g. http://127.0.0.1:8000 (needs
                                  MEDALS_SECRET, or MEDALS_PEER_KEYS with the dispatcher's key)
  --dispatcher-id <id>            frontend: the dispatcher's node id, whose key signs (dispatcher)
  --insecure                      run a db with front-ends, or a front-end, without MEDALS_SECRET
                                  or MEDALS_PEER_KEYS: peers unauthenticated (trusted networks only)
  --incarnation <n>               which start of this node this is (1, then +1 at each restart; default 1)
  --clock-offset <ms>             start with the clock this far ahead (negative: behind)
  --log-level error|warn|info|debug   (info)
${serviceFlagsUsage}`;

const roles: readonly Role[] = ['db', 'frontend', 'dispatcher', 'single'];

/** The spec and log level that `medals node`'s arguments ask for. */
export function parseNodeArgs(args: string[]): {
  spec: NodeSpec;
  options: ReturnType<typeof serviceOptionsFromFlags>;
  logLevel: LogLevel;
} {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      role: { type: 'string' },
      id: { type: 'string' },
      listen: { type: 'string' },
      http: { type: 'string' },
      peers: { type: 'string' },
      db: { type: 'string' },
      'front-ends': { type: 'string' },
      dispatcher: { type: 'string' },
      'dispatcher-id': { type: 'string' },
      insecure: { type: 'boolean', default: false },
      incarnation: { type: 'string' },
      'clock-offset': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      ...serviceFlags,
    },
  });
  const role = roles.find((r) => r === values.role);
  if (role === undefined) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
  if (values.id === undefined || !/^[\w.-]{1,64}$/.test(values.id)) {
    throw new UsageError('--id must be 1 to 64 letters, digits, dots, dashes or underscores');
  }
  const logLevel = parseLogLevel(values['log-level']);
  if (logLevel === undefined)
    throw new UsageError('--log-level must be error, warn, info or debug');
  const spec: NodeSpec = { role, id: values.id };
  if (values.listen !== undefined) spec.listen = values.listen;
  if (values.http !== undefined) spec.http = values.http;
  if (values.peers !== undefined) spec.peers = parseAddressList('--peers', values.peers);
  if (values.db !== undefined) spec.db = values.db;
  if (values['front-ends'] !== undefined) {
    spec.frontEnds = parseAddressList('--front-ends', values['front-ends']);
  }
  if (values.dispatcher !== undefined) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(values.dispatcher)) {
      throw new UsageError('--dispatcher must be a base URL such as http://127.0.0.1:8000');
    }
    spec.dispatcher = values.dispatcher;
  }
  if (values['dispatcher-id'] !== undefined) {
    if (!/^[\w.-]{1,64}$/.test(values['dispatcher-id'])) {
      throw new UsageError(
        '--dispatcher-id must be 1 to 64 letters, digits, dots, dashes or underscores',
      );
    }
    spec.dispatcherId = values['dispatcher-id'];
  }
  if (values.incarnation !== undefined) {
    spec.incarnation = integerFlag('incarnation', values.incarnation, 1, Number.MAX_SAFE_INTEGER);
  }
  const options = serviceOptionsFromFlags(values);
  if (values.insecure === true) options.insecure = true;
  try {
    requireCredentials(spec, options);
  } catch (err) {
    if (err instanceof CredentialsError) throw new UsageError(err.message);
    throw err;
  }
  if (values['clock-offset'] !== undefined) {
    options.clockOffsetMs = integerFlag(
      'clock-offset',
      values['clock-offset'],
      -86_400_000,
      86_400_000,
    );
  }
  return { spec, options, logLevel };
}

/**
 * `medals node`: runs one role until SIGINT or SIGTERM, then stops it
 * cleanly. Started by the launcher (an IPC channel exists), it reports
 * `ready` with its addresses, forwards its events instead of printing them,
 * and stops when the channel closes, so a launcher that dies leaves no
 * orphan behind.
 */
export async function runNode(args: string[], context = { verbose: false }): Promise<number> {
  const { spec, options, logLevel } = parseNodeArgs(args);
  const send = process.send?.bind(process);
  const tell = (message: NodeMessage): void => {
    if (process.connected) send?.(message);
  };
  const log = new EventLog(logLevel);

  // Listening from before the node starts: a leader learned or a clock round run while starting is
  // reported too. Per-request events are only ever shown at debug: below it, the role is spared making them.
  const listener = {
    onEvent: (event: string, data: unknown): void => {
      if (send === undefined) log.event(spec.id, event, data);
      else if (forwarded(event, data, logLevel)) tell({ type: 'event', id: spec.id, event, data });
    },
    perRequest: logLevel === 'debug',
  };
  let role: RunningRole;
  try {
    role = await startRole(spec, options, listener);
  } catch (err) {
    const error = err as Error;
    // The node's own stack is the one that says where a start failed; the launcher's would not.
    const message =
      `${spec.id} could not start: ${error.message}` +
      (context.verbose && error.stack !== undefined ? `\n${error.stack}` : '');
    if (send === undefined) {
      process.stderr.write(`medals node: ${message}\n`);
    } else {
      tell({ type: 'failed', id: spec.id, message });
    }
    return 1;
  }

  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    if (send !== undefined) process.once('disconnect', () => resolve('launcher gone'));
  });

  if (send === undefined) {
    log.line('info', spec.id, `${spec.role} ready` + describe(role));
  } else {
    // The launcher may ask for this process's memory (the soak run samples it); nothing else can.
    process.on('message', (raw: unknown) => {
      const parsed = launcherMessageSchema.safeParse(raw);
      if (parsed.success) tell(memoryReport(spec.id, parsed.data.seq));
    });
    tell({
      type: 'ready',
      id: spec.id,
      role: spec.role,
      pid: process.pid,
      ...(role.url === undefined ? {} : { url: role.url }),
      ...(role.address === undefined ? {} : { address: role.address }),
    });
  }

  const reason = await stopped;
  log.line('debug', spec.id, `stopping (${reason})`);
  await role.stop();
  if (process.connected) process.disconnect();
  return 0;
}

function describe(role: RunningRole): string {
  const parts = [role.url && `REST ${role.url}`, role.address && `nodes ${role.address}`];
  const shownParts = parts.filter((part): part is string => typeof part === 'string');
  return shownParts.length > 0 ? `: ${shownParts.join(', ')}` : '';
}
