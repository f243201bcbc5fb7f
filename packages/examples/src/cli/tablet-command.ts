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

export const tabletUsage = `usage: medals tablet [options]

A tablet of the report: asks the dispatcher for a front-end, then polls the
medal tallies and the scores and prints them, until --count rounds or Ctrl+C;
releases its front-end on exit.

options:
${clientFlagsUsage}`;

/** `medals tablet`: polls tallies and scores through an assigned front-end. */
export async function runTablet(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: clientFlags });
  const settings = clientSettings(values, 'tablet');
  const signal = stopSignal();
  const session = new AssignedServer(settings.dispatcherUrl, settings.clientId);
  try {
    for (let round = 1; settings.count === 0 || round <= settings.count; round++) {
      if (signal.aborted) break;
      const tallies = await Promise.all(
        DEFAULT_TEAMS.map((team) => session.call((client) => client.getMedalTally(team))),
      );
      const scores = await Promise.all(
        DEFAULT_EVENTS.map((event) => session.call((client) => client.getScore(event))),
      );
      const medals = tallies.map((t) => `${t.team} ${t.gold}/${t.silver}/${t.bronze}`).join('  ');
      const games = scores
        .map(
          (s) =>
            `${s.event}: ${DEFAULT_TEAMS.map((team) => `${team} ${String(s[team] ?? 0)}`).join(' ')}`,
        )
        .join('  ');
      process.stdout.write(
        `${settings.clientId} via ${session.server ?? '?'}  medals (g/s/b) ${medals}  |  ${games}\n`,
      );
      if (settings.count === 0 || round < settings.count) await pause(settings.intervalMs, signal);
    }
  } finally {
    await session.close();
  }
  return 0;
}
