import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { removeClusterFile, writeClusterFile, defaultClusterFile } from './cluster-file';
import type { ClusterFile } from './cluster-file';
import { EventLog, parseLogLevel } from './event-log';
import { emptyTallies } from './fresh-start';
import { clusterStopStages, launchCluster } from './launch-cluster';
import type { LaunchedCluster } from './launch-cluster';
import { NodeProcessGroup } from './node-process-group';
import type { LaunchedNode } from './node-process-group';
import { restartPolicies } from './restart-supervisor';
import {
  integerFlag,
  serviceFlags,
  serviceFlagsUsage,
  serviceOptionsFromFlags,
} from './service-flags';
import { UsageError } from './usage-error';

export const clusterUsage = `usage: medals cluster [options]

Starts the two-tier service on 127.0.0.1, one process per node: the db, the
front-ends and the dispatcher. Writes the cluster file once every node is
ready, logs the key events, restarts a node that dies (with backoff), and
stops everything cleanly on Ctrl+C. From a cluster secret (MEDALS_SECRET, or
a random one) it derives a key per pair of nodes and gives each node only
its own pairs' keys (MEDALS_PEER_KEYS, by environment, never argv): with
them the nodes authenticate each other, and the front-ends their
registrations with the dispatcher, and none can pose as another.

options:
  --front-ends <n>                how many front-ends (2)
  --port <port>                   the dispatcher's port; 0 for any free one (8000)
  --restart on-failure|never      restart a node that dies unexpectedly (on-failure)
  --log-level error|warn|info|debug   (info)
  --duration <s>                  stop by itself after this many seconds
  --fresh                         start from empty tallies and scores: empties the file store's
                                  --data-dir or the PostgreSQL store's tables first (they persist
                                  between runs otherwise)
  --cluster-file <path>           where to write the cluster file (${defaultClusterFile})
${serviceFlagsUsage}`;

/** `medals cluster`: runs a whole cluster until Ctrl+C, SIGTERM or `--duration`. */
export async function runCluster(args: string[], context = { verbose: false }): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      'front-ends': { type: 'string', default: '2' },
      port: { type: 'string', default: '8000' },
      'log-level': { type: 'string', default: 'info' },
      duration: { type: 'string' },
      'cluster-file': { type: 'string', default: defaultClusterFile },
      restart: { type: 'string', default: 'on-failure' },
      fresh: { type: 'boolean', default: false },
      ...serviceFlags,
    },
  });
  const frontEnds = integerFlag('front-ends', values['front-ends'], 1, 64);
  const port = integerFlag('port', values.port, 0, 65_535);
  const logLevel = parseLogLevel(values['log-level']);
  if (logLevel === undefined)
    throw new UsageError('--log-level must be error, warn, info or debug');
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && !(durationS > 0)) {
    throw new UsageError('--duration must be a positive number of seconds');
  }
  const restart = restartPolicies.find((policy) => policy === values.restart);
  if (restart === undefined) throw new UsageError('--restart must be on-failure or never');
  const clusterFile = values['cluster-file'];
  const options = serviceOptionsFromFlags(values);
  if (options.token === '') options.token = randomBytes(24).toString('base64url');
  if (options.peerKeys !== undefined) {
    throw new UsageError(
      "MEDALS_PEER_KEYS is for one node (medals node); the cluster derives its nodes' keys from MEDALS_SECRET",
    );
  }

  const log = new EventLog(logLevel);
  const group = new NodeProcessGroup({ logLevel, verbose: context.verbose });
  let stopping = false;
  group.on('event', (node, event, data) => {
    // While everything stops, the dispatcher goes first: front-ends failing to reach it is expected.
    if (stopping && event === 'frontend:unregistered') return;
    log.event(node, event, data);
  });
  group.on('output', (node, stream, line) =>
    log.line(stream === 'stderr' ? 'warn' : 'debug', node, line),
  );
  let requestStop: (reason: string) => void = () => undefined;
  const everyNodeExited = 'every node exited';
  let supervised = false;
  group.on('exit', (node, exit) => {
    // A supervised node's exit is logged with its restart.
    if (exit.expected || stopping || supervised) return;
    log.line('error', node, `exited unexpectedly (${describeExit(exit)})`);
    if (group.nodes.length === 0) requestStop(everyNodeExited);
  });

  const stopRequested = new Promise<string>((resolve) => {
    requestStop = resolve;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.line('warn', 'launcher', `${signal} again: still stopping the nodes`);
        return;
      }
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const stopAll = async (reason: string): Promise<void> => {
    stopping = true;
    log.line('info', 'launcher', `stopping every node (${reason})`);
    cluster?.supervisor?.stop();
    await group.stopAll(clusterStopStages(frontEnds));
  };

  log.line(
    'info',
    'launcher',
    `starting db, ${frontEnds} front-end(s) and the dispatcher: ${options.transport}, ${options.election}, ` +
      `clock sync ${options.clockSync}, ${options.multicast}, raffle every ${options.raffleEvery}, ${options.store} store`,
  );
  if (values.fresh) await emptyTallies(options, (text) => log.line('info', 'launcher', text));
  let interrupted: string | undefined;
  let cluster: LaunchedCluster | undefined;
  void stopRequested.then((reason) => {
    if (cluster !== undefined) return;
    interrupted = reason;
    void stopAll(`${reason} while starting`);
  });
  try {
    cluster = await launchCluster({ frontEnds, port, options, restart }, group);
  } catch (err) {
    if (interrupted === undefined) await stopAll('start failed');
    else await group.stopAll(clusterStopStages(frontEnds));
    if (interrupted !== undefined) {
      log.line('info', 'launcher', 'every node stopped');
      return 0;
    }
    throw err;
  }

  const content: ClusterFile = {
    dispatcher: cluster.dispatcher?.url ?? '',
    dispatcherPid: cluster.dispatcher?.pid ?? 0,
    frontEnds: cluster.frontEnds.map((fe) => ({ id: fe.id, url: fe.url ?? '', pid: fe.pid })),
    db: { id: cluster.db.id, address: cluster.db.address ?? '', pid: cluster.db.pid },
    launcherPid: process.pid,
    cacofonixToken: options.token,
  };
  writeClusterFile(clusterFile, content);
  process.stdout.write(clusterTable(content, clusterFile));
  const supervisor = cluster.supervisor;
  if (supervisor !== undefined) {
    supervised = true;
    supervisor.on('restarting', (node, exit, delayMs, attempt) =>
      log.line(
        'warn',
        node,
        `exited (${describeExit(exit)}); restarting in ${delayMs} ms (attempt ${attempt})`,
      ),
    );
    supervisor.on('restartFailed', (node, error, attempt) =>
      log.line('error', node, `restart attempt ${attempt} failed: ${error.message}`),
    );
    supervisor.on('restarted', (node, attempt) => {
      log.line('info', node.id, `restarted (attempt ${attempt}): ${describeNode(node)}`);
      updateClusterFile(content, node);
      if (!stopping) writeClusterFile(clusterFile, content);
    });
  }
  // The duration counts from ready, so a slow start still gets its run.
  if (durationS !== undefined) {
    setTimeout(() => requestStop(`${durationS} s elapsed`), durationS * 1000);
  }

  const reason = await stopRequested;
  await stopAll(reason);
  removeClusterFile(clusterFile);
  log.line('info', 'launcher', 'every node stopped');
  return reason === everyNodeExited ? 1 : 0;
}

function describeExit(exit: { signal: NodeJS.Signals | null; code: number | null }): string {
  return exit.signal ?? `code ${exit.code}`;
}

function describeNode(node: LaunchedNode): string {
  const where = [node.url && `REST ${node.url}`, node.address && `nodes ${node.address}`];
  return [
    `pid ${node.pid}`,
    ...where.filter((part): part is string => typeof part === 'string'),
  ].join(', ');
}

/** Records a restarted node's new pid (and, for a front-end, its REST URL) in `content`. */
function updateClusterFile(content: ClusterFile, node: LaunchedNode): void {
  if (node.role === 'dispatcher') {
    content.dispatcherPid = node.pid;
    content.dispatcher = node.url ?? content.dispatcher;
  } else if (node.role === 'db') {
    content.db = { id: node.id, address: node.address ?? content.db.address, pid: node.pid };
  } else {
    content.frontEnds = content.frontEnds.map((fe) =>
      fe.id === node.id ? { id: fe.id, url: node.url ?? fe.url, pid: node.pid } : fe,
    );
  }
}

/** The table of nodes and the curl examples printed once the cluster is up. */
export function clusterTable(cluster: ClusterFile, clusterFile: string): string {
  const rows: string[][] = [
    ['role', 'id', 'pid', 'address'],
    ['dispatcher', 'dispatcher', String(cluster.dispatcherPid), cluster.dispatcher],
    ...cluster.frontEnds.map((fe) => ['frontend', fe.id, String(fe.pid), fe.url]),
    ['db', cluster.db.id, String(cluster.db.pid), cluster.db.address],
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const table = rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
  );
  const fe = cluster.frontEnds[0]?.url ?? cluster.dispatcher;
  return [
    '',
    ...table,
    '',
    `cluster file: ${clusterFile} (holds Cacofonix's token)`,
    'try:',
    `  curl ${cluster.dispatcher}/getServer`,
    `  curl ${fe}/getMedalTally/Gaul`,
    `  curl ${fe}/getScore/Stone%20Curling`,
    `  TOKEN=$(node -p "require('${resolve(clusterFile)}').cacofonixToken")`,
    `  curl -X PUT -H "Authorization: Bearer $TOKEN" ${fe}/incrementMedalTally/Gaul/gold`,
    `  curl -X PUT -H "Authorization: Bearer $TOKEN" ${fe}/setScore/Stone%20Curling/3/2`,
    `  curl ${fe}/raffle ; curl ${fe}/status`,
    'or run the clients: medals tablet, medals cacofonix. Ctrl+C stops every node.',
    '',
    '',
  ].join('\n');
}
