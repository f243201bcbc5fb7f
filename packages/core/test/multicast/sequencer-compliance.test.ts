import { bully, heartbeat, sequencerMulticast, staticLeader } from '@medals/core';
import { orderedMulticastCompliance } from '@medals/core/testing';

orderedMulticastCompliance('SequencerMulticast (static leader)', {
  plugins: (_id, group) => [
    heartbeat({ members: [...group] }),
    staticLeader('n2'),
    sequencerMulticast({ group: [...group] }),
  ],
  messageTypes: [
    'sequencer.submit',
    'sequencer.order',
    'sequencer.sync',
    'sequencer.ack',
    'sequencer.fetch',
    'sequencer.join',
    'sequencer.recover',
  ],
});

orderedMulticastCompliance('SequencerMulticast (bully-elected sequencer)', {
  plugins: (_id, group) => [
    heartbeat({ members: [...group] }),
    bully({ group: [...group] }),
    sequencerMulticast({ group: [...group] }),
  ],
  messageTypes: [
    'sequencer.submit',
    'sequencer.order',
    'sequencer.sync',
    'sequencer.ack',
    'sequencer.fetch',
    'sequencer.join',
    'sequencer.recover',
  ],
});
