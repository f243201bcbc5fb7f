import { berkeley, staticLeader } from '@medals/core';
import { clockSyncCompliance } from '@medals/core/testing';

const round = { term: 1, session: 1, round: 1 };

clockSyncCompliance('BerkeleyClockSync', {
  plugins: ({ server, intervalMs, timeoutMs, mode, maxSlewPpm }) => [
    staticLeader(server),
    berkeley({
      intervalMs,
      pollTimeoutMs: timeoutMs,
      mode,
      ...(maxSlewPpm !== undefined ? { maxSlewPpm } : {}),
    }),
  ],
  requests: [
    {
      type: 'berkeley.poll',
      to: 'member',
      wellFormed: round,
      malformed: [
        null,
        'poll',
        {},
        { ...round, term: '1' },
        { ...round, round: -1 },
        { ...round, session: NaN },
      ],
    },
    {
      type: 'berkeley.adjust',
      to: 'member',
      wellFormed: { ...round, deltaMs: 5 },
      malformed: [
        { ...round, deltaMs: NaN },
        { ...round, deltaMs: Infinity },
        { ...round, deltaMs: -Infinity },
        { ...round, deltaMs: 1e15 },
        { ...round, deltaMs: '5' },
        { deltaMs: 5 },
      ],
    },
    { type: 'berkeley.sync', to: 'server', wellFormed: {}, malformed: [null, 'now', 42, [1]] },
  ],
  replies: [
    {
      type: 'berkeley.poll',
      from: 'member',
      forged: [{ time: NaN }, { time: Infinity }, { time: 1e15 }, { time: '1' }, {}, null],
    },
    { type: 'berkeley.adjust', from: 'member', forged: [{ time: NaN }, null] },
  ],
});
