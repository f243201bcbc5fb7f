import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { History } from '@medals/core';
import { writeDiagram } from '../diagram';
import { UsageError } from './usage-error';

export const diagramUsage = `usage: medals diagram <events.jsonl> [--out <dir>]

Draws a Lamport diagram of recorded events (\`medals cluster --record\`, or
a \`medals sim\` history.json): one lane per node, elections and terms,
multicast deliveries with their position in the total order, raffle
entries, clock corrections, crashes and restarts (and messages, where the
recording has them). Writes <out>/diagram.html (zoom, pan, hover, filters)
and diagram.svg.

options:
  --out <dir>                     where the files go (.medals/diagram)
`;

/** `medals diagram`: draws recorded events. */
export async function runDiagram(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { out: { type: 'string', default: join('.medals', 'diagram') } },
  });
  if (positionals.length !== 1) throw new UsageError('give one file of recorded events');
  const path = positionals[0]!;
  let history: History;
  try {
    history = History.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
  const files = writeDiagram(values.out, history.entries, `medals diagram ${basename(path)}`);
  process.stdout.write(`${history.length} events drawn: ${files.html}, ${files.svg}\n`);
  return 0;
}
