import { heartbeat, lamportMulticast } from '@medals/core';
import { orderedMulticastCompliance } from '@medals/core/testing';

orderedMulticastCompliance('LamportMulticast', {
  // Heartbeats every 20 ms with a 300 ms timeout: fifteen lost in a row before a false suspicion.
  plugins: (_id, group) => [
    heartbeat({ intervalMs: 20, timeoutMs: 300, members: group }),
    lamportMulticast({ group }),
  ],
  messageTypes: ['lamport.data', 'lamport.ack'],
});
