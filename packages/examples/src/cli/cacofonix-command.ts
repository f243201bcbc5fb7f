import { randomBytes, randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_EVENTS, DEFAULT_TEAMS } from '@medals/core';
import {
  AssignedServer,
  clientFlags,
  clientFlagsUsage,
  clientSettings,
  pause,
  stopSignal,
} from './client-target';

export const cacofonixUsage = `usage: medals cacofonix [options]

Cacofonix the bard: pushes random score updates and medal increments through
an assigned front-end with the token (from the cluster file, or
MEDALS_CACOFONIX_TOKEN), one Idempotency-Key per write so a retried write
counts once, printing each, until --count writes or Ctrl+C.

options:
${clientFlagsUsage}`;

const medals = ['gold', 'silver', 'bronze'];

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)];
}

/** `medals cacofonix`: pushes writes through an assigned front-end. */
export async function runCacofonix(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: clientFlags });
  const settings = clientSettings(values, 'cacofonix');
  if (settings.token === undefined || settings.token === '') {
    process.stderr.write(
      'medals cacofonix: no token; set MEDALS_CACOFONIX_TOKEN or pass --cluster\n',
    );
    return 1;
  }
  const signal = stopSignal();
  const session = new AssignedServer(settings.dispatcherUrl, settings.clientId, settings.token);
  const run = randomBytes(4).toString('hex');
  try {
    for (let write = 1; settings.count === 0 || write <= settings.count; write++) {
      if (signal.aborted) break;
      // One key per write, reused by every retry of it.
      const idempotencyKey = `${settings.clientId}-${run}-${write}`;
      if (write % 2 === 1) {
        const team = pick(DEFAULT_TEAMS);
        const medal = pick(medals);
        const tally = await session.call((client) =>
          client.incrementMedalTally(team, medal, { idempotencyKey }),
        );
        process.stdout.write(
          `${settings.clientId} via ${session.server ?? '?'}  ${medal} for ${team}: ${tally.gold}/${tally.silver}/${tally.bronze}\n`,
        );
      } else {
        const event = pick(DEFAULT_EVENTS);
        const rome = randomInt(10);
        const gaul = randomInt(10);
        await session.call((client) => client.setScore(event, rome, gaul, { idempotencyKey }));
        process.stdout.write(
          `${settings.clientId} via ${session.server ?? '?'}  ${event}: Rome ${rome} Gaul ${gaul}\n`,
        );
      }
      if (settings.count === 0 || write < settings.count) await pause(settings.intervalMs, signal);
    }
  } finally {
    await session.close();
  }
  return 0;
}
