import {
  everyNthRaffle,
  heartbeat,
  lamportMulticast,
  sequencerMulticast,
  staticLeader,
} from '@medals/core';
import { raffleCompliance } from '@medals/core/testing';

raffleCompliance('EveryNthRaffle on SequencerMulticast', {
  plugins: (_id, { group, every }) => [
    heartbeat({ members: [...group] }),
    staticLeader('n2'),
    sequencerMulticast({ group: [...group] }),
    everyNthRaffle({ every }),
  ],
});

raffleCompliance('EveryNthRaffle on LamportMulticast', {
  plugins: (_id, { group, every }) => [
    heartbeat({ members: [...group] }),
    lamportMulticast({ group: [...group] }),
    everyNthRaffle({ every }),
  ],
});
