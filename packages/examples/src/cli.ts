#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { commandArgs } from './cli/command-args';
import { failureReport } from './cli/failure-report';
import { UsageError } from './cli/usage-error';

const USAGE = `usage: medals <command> [options]   (medals <command> --help for its options)

commands:
  cluster      the two-tier service on this machine: db, front-ends and dispatcher, one process each
  node         one process of the service (db, frontend, dispatcher or single), for clusters across machines
  tablet       a client that asks the dispatcher for a front-end and polls tallies and scores
  cacofonix    the bard: pushes score updates and medal increments with the token
  eval         re-runs the report's experiments (latency, balance, clock, raffle), and a soak run
  demo         three nodes on an in-memory network with faults, printing their events

A mistake (a flag, no cluster running, a port taken) is told in one line; --verbose,
with any command, adds the stack.
`;

const demoUsage = `usage: medals demo [--duration <s>] [--seed <n>]
`;

async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '6' },
      seed: { type: 'string', default: '1' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const seed = Number(values.seed);
  if (!(durationMs > 0) || !Number.isInteger(seed)) {
    throw new UsageError('--duration must be a positive number of seconds and --seed an integer');
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const { runInMemoryDemo } = await import('./demo/in-memory-demo.js');
  await runInMemoryDemo({ durationMs, seed, signal: controller.signal });
  return 0;
}

/** What a command is told besides its own arguments. */
export interface CommandContext {
  /** `--verbose`: failures show their stack, and the nodes a command starts say more about theirs. */
  verbose: boolean;
}

interface Command {
  run: (args: string[], context: CommandContext) => Promise<number>;
  usage: string;
}

/**
 * Each command's module is loaded when that command runs: a `medals node`
 * process (one per node of a cluster) then never loads the charting library
 * of `eval`, and starts sooner.
 */
const commands: Readonly<Record<string, () => Promise<Command>>> = {
  cluster: () =>
    import('./cli/cluster-command.js').then((m) => ({ run: m.runCluster, usage: m.clusterUsage })),
  node: () => import('./cli/node-command.js').then((m) => ({ run: m.runNode, usage: m.nodeUsage })),
  tablet: () =>
    import('./cli/tablet-command.js').then((m) => ({ run: m.runTablet, usage: m.tabletUsage })),
  cacofonix: () =>
    import('./cli/cacofonix-command.js').then((m) => ({
      run: m.runCacofonix,
      usage: m.cacofonixUsage,
    })),
  eval: () => import('./cli/eval-command.js').then((m) => ({ run: m.runEval, usage: m.evalUsage })),
  demo: async () => ({ run: runDemo, usage: demoUsage }),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (load === undefined) {
    process.stderr.write(`medals: unknown command ${name} (see medals --help)\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return 0;
  }
  const { args, verbose } = commandArgs(rest);
  try {
    return await command.run(args, { verbose });
  } catch (err) {
    const report = failureReport(name, err, verbose);
    process.stderr.write(report.text);
    return report.exitCode;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A finished command must not be held open by a socket or timer some library kept.
    setTimeout(() => process.exit(), 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(failureReport('', err, true).text);
    process.exit(1);
  },
);
