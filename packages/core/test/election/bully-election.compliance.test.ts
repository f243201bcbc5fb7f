import { bully, heartbeat } from '@medals/core';
import { electionCompliance } from '@medals/core/testing';
import { badLeadershipNews } from './hostile-messages';

const bad = [
  ...badLeadershipNews('bully.coordinator'),
  { type: 'bully.election', payload: { term: 2 ** 60 } },
  { type: 'bully.election', payload: { term: -1 } },
  { type: 'bully.election', payload: [] },
];
const forged = [
  { type: 'bully.coordinator', payload: { leader: 'n1', term: 1000 } },
  { type: 'bully.election', payload: { term: 1000 } },
];

electionCompliance('BullyElection', {
  plugins: () => [heartbeat(), bully()],
  badMessages: bad,
  strangerMessages: forged,
});

electionCompliance('BullyElection (not preemptive)', {
  plugins: () => [heartbeat(), bully({ preemptive: false })],
  badMessages: bad,
  strangerMessages: forged,
});
