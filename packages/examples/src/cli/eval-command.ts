import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { balanceExperiment } from '../eval/balance';
import { clockExperiment } from '../eval/clock';
import type { Experiment, ExperimentResult } from '../eval/experiment';
import { latencyExperiment } from '../eval/latency';
import { raffleExperiment } from '../eval/raffle';
import { runSoak } from '../eval/soak';
import { soakChart, soakMarkdown } from '../eval/soak-report';
import { defaultServiceOptions } from '../service';
import type { ServiceOptions } from '../service';
import { serviceFlags, serviceFlagsUsage, serviceOptionsFromFlags } from './service-flags';
import { UsageError } from './usage-error';

const experiments: readonly Experiment[] = [
  latencyExperiment,
  balanceExperiment,
  clockExperiment,
  raffleExperiment,
];

/** The soak run's own flags, refused with any other experiment. */
const soakFlags = ['minutes', 'rate', 'sample-every', 'warm-up'] as const;

export const evalUsage = `usage: medals eval latency|balance|clock|raffle|all|soak [options]

Re-runs an experiment of the report, starting the processes it needs, and
writes <out>/<name>.md (a table, the report's figures beside ours) and
<out>/<name>.svg (a chart).

experiments:
${experiments.map((e) => `  ${e.name.padEnd(10)} ${e.summary}`).join('\n')}
  all        each of them in turn (not soak)
  soak       the cluster under a fixed load for minutes: each node's RSS and heap
             after GC over time, and their growth after warm-up (npm run soak)

options:
  --out <dir>                     where to write (results)
  --quick                         fewer rounds and requests (for a smoke test); soak: 1 minute
soak options:
  --minutes <n>                   how long the load runs (30)
  --rate <req/s>                  open-loop rate over both front-ends (1000)
  --sample-every <s>              time between readings of every node's memory (5)
  --warm-up <s>                   readings left out of the growth figures (a fifth of the run)
${serviceFlagsUsage
  .replace('(file)', '(memory here: the experiments measure the tiers, not the disk; soak: file)')
  .replace('(.medals/data)', '(soak: a fresh temporary one)')}`;

/** A positive number of `unit` from flag `flag`, or `fallback` when not given. */
function positiveFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number > 0)) throw new UsageError(`--${flag} must be a positive number, got ${value}`);
  return number;
}

/** `medals eval <name>`: runs one experiment (or all) and writes its table and chart. */
export async function runEval(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'results' },
      quick: { type: 'boolean', default: false },
      minutes: { type: 'string' },
      rate: { type: 'string' },
      'sample-every': { type: 'string' },
      'warm-up': { type: 'string' },
      ...serviceFlags,
      store: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('name one experiment');
  const [name] = positionals;
  const soak = name === 'soak';
  const chosen = name === 'all' ? experiments : experiments.filter((e) => e.name === name);
  if (chosen.length === 0 && !soak) throw new UsageError(`no experiment ${name}`);
  const misplaced = soakFlags.find((flag) => values[flag] !== undefined);
  if (!soak && misplaced !== undefined) throw new UsageError(`--${misplaced} is for soak only`);
  const options = serviceOptionsFromFlags({
    ...values,
    store: values.store ?? (soak ? 'file' : 'memory'),
    'data-dir': values['data-dir'] ?? defaultServiceOptions.dataDir,
  });
  if (options.token === '') options.token = randomBytes(24).toString('base64url');
  const out = values.out;
  mkdirSync(out, { recursive: true });
  const write = (result: ExperimentResult, started: number): void => {
    const markdownFile = join(out, `${result.name}.md`);
    const svgFile = join(out, `${result.name}.svg`);
    writeFileSync(markdownFile, result.markdown);
    writeFileSync(svgFile, result.svg);
    process.stdout.write(
      `\n${result.markdown}\nwrote ${markdownFile} and ${svgFile} in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`,
    );
  };
  if (soak) {
    const started = Date.now();
    write(await soakRun(values, options), started);
    return 0;
  }
  for (const experiment of chosen) {
    const started = Date.now();
    const result = await experiment.run({
      options,
      quick: values.quick,
      progress: (line) => process.stdout.write(`eval ${experiment.name}: ${line}\n`),
    });
    write(result, started);
  }
  return 0;
}

/** `medals eval soak`: the run its flags ask for, as a report and a chart. */
async function soakRun(
  values: {
    quick: boolean;
    minutes?: string;
    rate?: string;
    'sample-every'?: string;
    'warm-up'?: string;
    'data-dir'?: string;
  },
  options: ServiceOptions,
): Promise<ExperimentResult> {
  const minutes = positiveFlag('minutes', values.minutes, values.quick ? 1 : 30);
  const warmUpS =
    values['warm-up'] === undefined ? undefined : positiveFlag('warm-up', values['warm-up'], 0);
  if (warmUpS !== undefined && warmUpS >= minutes * 60) {
    throw new UsageError('--warm-up must be shorter than the run');
  }
  const result = await runSoak({
    options,
    durationMs: minutes * 60_000,
    rate: positiveFlag('rate', values.rate, 1000),
    sampleEveryMs: positiveFlag('sample-every', values['sample-every'], 5) * 1000,
    ...(warmUpS === undefined ? {} : { warmUpMs: warmUpS * 1000 }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    progress: (line) => process.stdout.write(`eval soak: ${line}\n`),
  });
  return { name: 'soak', markdown: soakMarkdown(result), svg: soakChart(result) };
}
