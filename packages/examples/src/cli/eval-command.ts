import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { balanceExperiment } from '../eval/balance';
import { clockExperiment } from '../eval/clock';
import type { Experiment } from '../eval/experiment';
import { latencyExperiment } from '../eval/latency';
import { raffleExperiment } from '../eval/raffle';
import { serviceFlags, serviceFlagsUsage, serviceOptionsFromFlags } from './service-flags';
import { UsageError } from './usage-error';

const experiments: readonly Experiment[] = [
  latencyExperiment,
  balanceExperiment,
  clockExperiment,
  raffleExperiment,
];

export const evalUsage = `usage: medals eval latency|balance|clock|raffle|all [options]

Re-runs an experiment of the report, starting the processes it needs, and
writes <out>/<name>.md (a table, the report's figures beside ours) and
<out>/<name>.svg (a chart).

experiments:
${experiments.map((e) => `  ${e.name.padEnd(10)} ${e.summary}`).join('\n')}
  all        each of them in turn

options:
  --out <dir>                     where to write (results)
  --quick                         fewer rounds and requests (for a smoke test)
${serviceFlagsUsage.replace('(file)', '(memory here: the experiments measure the tiers, not the disk)')}`;

/** `medals eval <name>`: runs one experiment (or all) and writes its table and chart. */
export async function runEval(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'results' },
      quick: { type: 'boolean', default: false },
      ...serviceFlags,
      store: { type: 'string', default: 'memory' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('name one experiment');
  const [name] = positionals;
  const chosen = name === 'all' ? experiments : experiments.filter((e) => e.name === name);
  if (chosen.length === 0) throw new UsageError(`no experiment ${name}`);
  const options = serviceOptionsFromFlags(values);
  if (options.token === '') options.token = randomBytes(24).toString('base64url');
  const out = values.out;
  mkdirSync(out, { recursive: true });
  for (const experiment of chosen) {
    const started = Date.now();
    const result = await experiment.run({
      options,
      quick: values.quick,
      progress: (line) => process.stdout.write(`eval ${experiment.name}: ${line}\n`),
    });
    const markdownFile = join(out, `${result.name}.md`);
    const svgFile = join(out, `${result.name}.svg`);
    writeFileSync(markdownFile, result.markdown);
    writeFileSync(svgFile, result.svg);
    process.stdout.write(
      `\n${result.markdown}\nwrote ${markdownFile} and ${svgFile} in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`,
    );
  }
  return 0;
}
