import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Fault } from '@medals/core';
import { History } from '@medals/core';
import { checkHistory, firstViolation } from '@medals/core/testing';
import type { HistoryVerdict } from '@medals/core/testing';
import { writeDiagram } from '../diagram';
import { parseFault, parseFaultFile } from '../sim/fault-spec';
import { serviceNodeIds, simulateService } from '../sim/service-simulation';
import { integerFlag, serviceFlags, serviceOptionsFromFlags } from './service-flags';
import { UsageError } from './usage-error';

export const simUsage = `usage: medals sim [options]
       medals sim --check <history.json> [--out <dir>] [--clock-bound <ms>]

Runs the service's algorithms (those \`medals cluster\` would run: the db and
the front-ends, election, clock sync, multicast, raffle) on virtual time in
one process, with clients' requests entering the raffle, the links' delay
and loss, and faults on schedule; prints the checkers' verdicts and exits 1
naming the first violation. Writes <out>/history.json (the run's events, one
SuperJSON entry per line), diagram.html (zoom, pan, hover, filters) and
diagram.svg. The same options and seed give the same digest, byte for byte.
With --check, judges and draws a recorded history instead of running one.

options:
  --seed <n>                      everything random derives from it (1)
  --duration <s>                  virtual seconds the run lasts (20)
  --front-ends <n>                how many front-ends, fe1 … (2)
  --election bully|ring           (bully)
  --clock-sync berkeley|cristian|off   (berkeley)
  --clock-sync-interval <ms>      time between clock sync rounds (the algorithm's default)
  --multicast lamport|sequencer   (sequencer)
  --raffle-every <n>              every nth request enters the raffle (100)
  --raffle-draw-interval <ms>     time between raffle draws; 0 draws none (10000)
  --latency <ms>                  delay of every message (5)
  --jitter <ms>                   the delay varies by up to this either way (2)
  --loss <p>                      probability that a message is lost, 0 to 0.5 (0)
  --rate <n>                      client requests per second, from 1 s until the quiet end (20)
  --quiet <s>                     the last seconds run without requests, so agreement can be judged (5);
                                  restart every crashed node and heal every partition before them,
                                  or a node still cut off shows as an agreement violation
  --clock-skew <ms>               each clock starts up to this far off true time (500)
  --clock-bound <ms>              largest spread of the live clocks at the end (50)
  --fault <kind:args@time>        crash:fe2@3s, restart:fe2@6s, partition:fe1/fe2,db@8s, heal@12s
                                  (repeat it; times in s or ms)
  --faults <file.json>            a JSON array of such strings or of fault objects
  --out <dir>                     where the files go (.medals/sim)
  --check <history.json>          judge and draw this history instead of running one
`;

const algorithmFlags = {
  election: serviceFlags.election,
  'clock-sync': serviceFlags['clock-sync'],
  'clock-sync-interval': serviceFlags['clock-sync-interval'],
  multicast: serviceFlags.multicast,
  'raffle-every': serviceFlags['raffle-every'],
  'raffle-draw-interval': serviceFlags['raffle-draw-interval'],
} as const;

/** Parses a flag that must be a number in `[min, max]`. */
function numberFlag(flag: string, value: string, min: number, max: number): number {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) {
    throw new UsageError(`--${flag} must be a number from ${min} to ${max}, got ${value}`);
  }
  return number;
}

/** `medals sim`: runs (or, with `--check`, reads) a history, judges it and draws it. */
export async function runSim(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '20' },
      'front-ends': { type: 'string', default: '2' },
      latency: { type: 'string', default: '5' },
      jitter: { type: 'string', default: '2' },
      loss: { type: 'string', default: '0' },
      rate: { type: 'string', default: '20' },
      quiet: { type: 'string', default: '5' },
      'clock-skew': { type: 'string', default: '500' },
      'clock-bound': { type: 'string', default: '50' },
      fault: { type: 'string', multiple: true, default: [] },
      faults: { type: 'string' },
      out: { type: 'string', default: join('.medals', 'sim') },
      check: { type: 'string' },
      ...algorithmFlags,
    },
  });
  const clockBoundMs = numberFlag('clock-bound', values['clock-bound'], 0, 3_600_000);
  if (values.check !== undefined) return checkRecorded(values.check, values.out, clockBoundMs);

  const seed = integerFlag('seed', values.seed, -(2 ** 31), 2 ** 31 - 1);
  const durationMs = integerFlag('duration', values.duration, 1, 3_600) * 1_000;
  const frontEnds = integerFlag('front-ends', values['front-ends'], 1, 16);
  const quietMs = numberFlag('quiet', values.quiet, 0, 3_600) * 1_000;
  if (quietMs >= durationMs) throw new UsageError('--quiet must be shorter than --duration');
  const service = serviceOptionsFromFlags(
    { ...values, transport: 'tcp', store: 'memory', 'data-dir': '.' },
    {},
  );
  const nodes = serviceNodeIds(frontEnds);
  const faults: Fault[] = [];
  try {
    if (values.faults !== undefined) {
      faults.push(...parseFaultFile(readFileSync(values.faults, 'utf8'), nodes));
    }
    for (const text of values.fault) faults.push(parseFault(text, nodes));
  } catch (err) {
    throw new UsageError(
      `${values.faults !== undefined ? `--faults ${values.faults}: ` : ''}${(err as Error).message}`,
    );
  }
  const late = faults.find((fault) => fault.at >= durationMs);
  if (late !== undefined) {
    throw new UsageError(
      `a ${late.type} fault at ${late.at} ms is not within the ${durationMs / 1_000} s run`,
    );
  }
  faults.sort((a, b) => a.at - b.at);

  const result = await simulateService({
    seed,
    frontEnds,
    service,
    durationMs,
    links: {
      latencyMs: numberFlag('latency', values.latency, 0, 60_000),
      jitterMs: numberFlag('jitter', values.jitter, 0, 60_000),
      loss: numberFlag('loss', values.loss, 0, 0.5),
    },
    faults,
    requestsPerSecond: numberFlag('rate', values.rate, 0, 10_000),
    quietMs,
    clockSkewMs: numberFlag('clock-skew', values['clock-skew'], 0, 3_600_000),
    clockBoundMs,
  });
  const title =
    `medals sim --seed ${seed}: db + ${frontEnds} front-end(s), ${service.election}, clock sync ${service.clockSync}, ` +
    `${service.multicast}, raffle every ${service.raffleEvery}; ${faults.length} fault(s)`;
  process.stdout.write(`${title}\n`);
  return report(result.history, result.verdicts, values.out, title);
}

/** `--check`: judges and draws a recorded history. */
function checkRecorded(path: string, out: string, clockBoundMs: number): number {
  let history: History;
  try {
    history = History.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--check ${path}: ${(err as Error).message}`);
  }
  const title = `medals sim --check ${path}`;
  process.stdout.write(`${title}\n`);
  return report(history, checkHistory(history, { clockBoundMs }), out, title);
}

/** Prints the verdicts, writes the files, and says which property failed (exit 1) if one did. */
function report(history: History, verdicts: HistoryVerdict[], out: string, title: string): number {
  mkdirSync(out, { recursive: true });
  const historyPath = join(out, 'history.json');
  writeFileSync(historyPath, `${history.serialize()}\n`);
  const files = writeDiagram(out, history.entries, title);
  const width = Math.max(...verdicts.map((v) => v.property.length));
  process.stdout.write(
    [
      `history: ${history.length} events, digest ${history.digest()}`,
      'verdicts:',
      ...verdicts.map(
        (v) =>
          `  ${(v.outcome === 'violated' ? 'VIOLATED' : v.outcome).padEnd(8)}  ${v.property.padEnd(width)}  ${v.message}`,
      ),
      `wrote ${historyPath}, ${files.html}, ${files.svg}`,
      '',
    ].join('\n'),
  );
  const violation = firstViolation(verdicts);
  if (violation === undefined) return 0;
  process.stderr.write(`medals sim: ${violation.property} violated: ${violation.message}\n`);
  return 1;
}
