#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runInMemoryDemo } from './demo/in-memory-demo';

const USAGE = `usage: medals <command> [options]

commands:
  demo [--duration <s>] [--seed <n>]   three nodes on an in-memory network with faults, printing their events
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: {
          duration: { type: 'string', default: '6' },
          seed: { type: 'string', default: '1' },
        },
      });
      const durationMs = Number(values.duration) * 1000;
      const seed = Number(values.seed);
      if (!(durationMs > 0) || !Number.isInteger(seed)) {
        process.stderr.write(
          'medals demo: --duration must be a positive number of seconds and --seed an integer\n',
        );
        return 2;
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      await runInMemoryDemo({ durationMs, seed, signal: controller.signal });
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`medals: unknown command ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`medals: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
