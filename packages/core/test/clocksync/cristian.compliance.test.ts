import { cristian, staticLeader } from '@medals/core';
import { clockSyncCompliance } from '@medals/core/testing';

clockSyncCompliance('CristianClockSync', {
  plugins: ({ server, intervalMs, timeoutMs, mode, maxSlewPpm }) => [
    staticLeader(server),
    cristian({
      intervalMs,
      timeoutMs,
      mode,
      ...(maxSlewPpm !== undefined ? { maxSlewPpm } : {}),
    }),
  ],
  requests: [
    { type: 'cristian.time', to: 'server', wellFormed: {}, malformed: [null, 'now', 42, [1]] },
  ],
  replies: [
    {
      type: 'cristian.time',
      from: 'server',
      forged: [{ time: NaN }, { time: Infinity }, { time: 1e15 }, { time: '1' }, {}, null],
    },
  ],
});
