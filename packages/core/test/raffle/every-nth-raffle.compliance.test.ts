import {
  everyNthRaffle,
  heartbeat,
  lamportMulticast,
  sequencerMulticast,
  staticLeader,
} from '@medals/core';
import { raffleCompliance } from '@medals/core/testing';

raffleCompliance('EveryNthRaffle on SequencerMulticast', {
  plugins: (_id, { group, every, leader, drawEveryMs }) => [
    heartbeat({ members: [...group] }),
    staticLeader(leader),
    sequencerMulticast({ group: [...group] }),
    everyNthRaffle({ every, drawEveryMs }),
  ],
});

raffleCompliance('EveryNthRaffle on LamportMulticast', {
  plugins: (_id, { group, every, leader, drawEveryMs }) => [
    heartbeat({ members: [...group] }),
    staticLeader(leader),
    lamportMulticast({ group: [...group] }),
    everyNthRaffle({ every, drawEveryMs }),
  ],
});
