/** How much the CLI prints: each level includes those before it. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The levels, most severe first. */
export const logLevels: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Whether an event of `level` is shown at the threshold `threshold`. */
export function shown(level: LogLevel, threshold: LogLevel): boolean {
  return logLevels.indexOf(level) <= logLevels.indexOf(threshold);
}

/** Parses `--log-level`; undefined when it names no level. */
export function parseLogLevel(text: unknown): LogLevel | undefined {
  return logLevels.find((level) => level === text);
}

/** An event rendered for a person: its level and one line of text. */
export interface EventLine {
  level: LogLevel;
  text: string;
}

type Fields = Record<string, unknown>;

function field(data: Fields, name: string): string {
  const value = data[name];
  if (value === undefined || value === null) return '?';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function signed(value: unknown): string {
  return typeof value === 'number' ? `${value >= 0 ? '+' : ''}${value.toFixed(1)}` : '?';
}

function list(value: unknown): string {
  return Array.isArray(value) ? value.join(', ') : '';
}

function registrationNote(change: unknown): string {
  if (change === 'moved') return ' (a new URL)';
  if (change === 'revived') return ' (back)';
  return '';
}

/**
 * Events are forwarded per request at this volume, so they are only ever
 * shown at `debug`, and a launched node does not forward them otherwise.
 */
const perRequestEvents = new Set(['delivered', 'http:request', 'dispatcher:assigned']);

/** Events the experiments and the launcher's callers read whatever is printed, though shown only at `debug`. */
const alwaysForwarded = new Set(['clockAdjusted', 'clockSyncRound']);

/**
 * Codes of `node:error` that are races, not faults: a message that reached
 * a node whose view of the leadership differs from the sender's, as it does
 * while an election settles (at start-up, after a leader's crash). The
 * sender is told and tries again; shown at `debug`.
 */
const raceCodes = new Set(['ERR_NOT_LEADER']);

/** Codes of `node:error` that the node mends by itself (it rejoins its group): shown as warnings. */
const selfHealingCodes = new Set(['ERR_REMOVED']);

function errorLevel(code: unknown): LogLevel {
  if (raceCodes.has(String(code))) return 'debug';
  return selfHealingCodes.has(String(code)) ? 'warn' : 'error';
}

const formatters: Readonly<Record<string, (data: Fields) => EventLine>> = {
  elected: (d) => ({
    level: 'info',
    text: `leader is ${field(d, 'leader')} (term ${field(d, 'term')})`,
  }),
  electionStarted: (d) => ({
    level: 'debug',
    text: `started an election for term ${field(d, 'term')}`,
  }),
  // One line per round is the time server's clockSyncRound; each node's correction is detail.
  clockAdjusted: (d) => ({
    level: 'debug',
    text: `clock adjusted by ${signed(d.deltaMs)} ms (${field(d, 'mode')}, round ${field(d, 'round')} of ${field(d, 'server')})`,
  }),
  clockSyncRound: (d) => {
    const unreachable = list(d.unreachable);
    const outliers = list(d.outliers);
    // A node that synchronised itself with the server (Cristian's) reports its own round: detail.
    if (d.server !== undefined && d.server !== d.node) {
      return {
        level: 'debug',
        text:
          `synced its clock with ${field(d, 'server')} (round ${field(d, 'round')})` +
          (unreachable ? `; unreachable: ${unreachable}` : ''),
      };
    }
    return {
      level: 'info',
      text:
        `led clock sync round ${field(d, 'round')} with ${field(d, 'participants')} clocks` +
        (unreachable ? `; unreachable: ${unreachable}` : '') +
        (outliers ? `; outliers left out: ${outliers}` : ''),
    };
  },
  raffleEntry: (d) => ({
    level: 'info',
    text: `raffle entry #${field(d, 'entry')}: request ${field(d, 'requestSeq')} by ${field(d, 'client')} at ${field(d, 'server')}`,
  }),
  raffleWinner: (d) => {
    const winner = (typeof d.winner === 'object' && d.winner !== null ? d.winner : {}) as Fields;
    return {
      level: 'info',
      text: `raffle draw #${field(d, 'draw')}: entry #${field(winner, 'entry')} wins (${field(winner, 'client')} at ${field(winner, 'server')}, ${field(d, 'candidates')} candidates)`,
    };
  },
  // A peer not heard from since this node started is most often one still starting: detail.
  peerSuspected: (d) =>
    d.neverHeard === true
      ? { level: 'debug', text: `never heard from ${field(d, 'peer')}` }
      : { level: 'warn', text: `suspects ${field(d, 'peer')} is down` },
  peerRecovered: (d) =>
    d.firstHeard === true
      ? { level: 'debug', text: `hears from ${field(d, 'peer')} for the first time` }
      : { level: 'info', text: `hears from ${field(d, 'peer')} again` },
  viewChanged: (d) => ({
    level: 'info',
    text:
      `multicast group is now ${list(d.group)}` +
      (list(d.removed) ? ` (without ${list(d.removed)})` : ''),
  }),
  'node:error': (d) => ({
    level: errorLevel(d.code),
    text: `${field(d, 'component')}: ${field(d, 'code')} ${field(d, 'message')}`,
  }),
  'node:started': () => ({ level: 'debug', text: 'node started' }),
  'node:stopped': () => ({ level: 'debug', text: 'node stopped' }),
  'http:listening': (d) => ({ level: 'debug', text: `serves REST at ${field(d, 'url')}` }),
  // The path comes redacted from the API (no token, no query): see redactPath.
  'http:request': (d) => ({
    level: 'debug',
    text: `${field(d, 'method')} ${field(d, 'path')} ${field(d, 'status')} (${field(d, 'client')})`,
  }),
  'dispatcher:assigned': (d) => ({
    level: 'debug',
    text: `assigned a client to ${field(d, 'server')} (load ${field(d, 'load')})`,
  }),
  'dispatcher:serverDown': (d) => ({
    level: 'warn',
    text: `stopped assigning ${field(d, 'server')}: ${field(d, 'reason')}`,
  }),
  'dispatcher:serverUp': (d) => ({ level: 'info', text: `assigns ${field(d, 'server')} again` }),
  'dispatcher:registered': (d) => ({
    level: 'info',
    text: `${field(d, 'id')} registered at ${field(d, 'server')}${registrationNote(d.change)}`,
  }),
  'dispatcher:registrationRefused': (d) => ({
    level: 'warn',
    text: `refused a registration (${field(d, 'status')}): ${field(d, 'reason')}`,
  }),
  'frontend:registered': (d) => ({
    level: 'info',
    text: `registered with the dispatcher at ${field(d, 'dispatcher')}`,
  }),
  'frontend:unregistered': (d) => ({
    level: 'warn',
    text: `cannot register with the dispatcher at ${field(d, 'dispatcher')}: ${field(d, 'reason')}`,
  }),
};

/**
 * Renders a node's event as one line, e.g. `leader is db (term 1)` or
 * `clock adjusted by -3000.0 ms (step, round 1 of fe1)`. Unknown events are
 * shown as JSON at `debug`.
 */
export function formatEvent(event: string, data: unknown): EventLine {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Fields;
  const formatter = formatters[event];
  if (formatter !== undefined) return formatter(fields);
  return { level: 'debug', text: `${event} ${JSON.stringify(data)}` };
}

/**
 * Whether a node started with `threshold` passes `event` on to its launcher:
 * everything of level info or above and each clock correction (the
 * experiments read elections, clock adjustments and raffle results whatever
 * is printed), and the rest only at `debug`.
 */
export function forwarded(event: string, data: unknown, threshold: LogLevel): boolean {
  if (perRequestEvents.has(event)) return threshold === 'debug';
  if (alwaysForwarded.has(event)) return true;
  return threshold === 'debug' || formatEvent(event, data).level !== 'debug';
}

/** Prints node events as `HH:MM:SS.mmm node  text` lines at or above a level. */
export class EventLog {
  constructor(
    private readonly threshold: LogLevel,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  /** Prints `event` of `node` if its level is shown. */
  event(node: string, event: string, data: unknown): void {
    const line = formatEvent(event, data);
    if (shown(line.level, this.threshold)) this.line(line.level, node, line.text);
  }

  /** Prints a line of the launcher's own (`node` is who it is about). */
  line(level: LogLevel, node: string, text: string): void {
    if (!shown(level, this.threshold)) return;
    const time = new Date().toISOString().slice(11, 23);
    const mark = level === 'error' ? 'ERROR ' : level === 'warn' ? 'WARN ' : '';
    this.out.write(`${time} ${node.padEnd(10)} ${mark}${text}\n`);
  }
}
