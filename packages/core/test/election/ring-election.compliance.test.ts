import { heartbeat, ring } from '@medals/core';
import { electionCompliance } from '@medals/core/testing';
import { badLeadershipNews } from './hostile-messages';

electionCompliance('RingElection', {
  plugins: () => [heartbeat(), ring()],
  badMessages: [
    ...badLeadershipNews('ring.coordinator'),
    ...badLeadershipNews('ring.elected'),
    { type: 'ring.election', payload: { candidate: 'mallory', term: 3 } },
    { type: 'ring.election', payload: { candidate: 'n1', term: 2 ** 60 } },
    { type: 'ring.election', payload: { candidate: 'n1', term: -1 } },
    { type: 'ring.election', payload: { candidate: 7, term: 1 } },
  ],
  strangerMessages: [
    { type: 'ring.coordinator', payload: { leader: 'n1', term: 1000 } },
    { type: 'ring.elected', payload: { leader: 'n1', term: 1000 } },
    { type: 'ring.election', payload: { candidate: 'n1', term: 1000 } },
  ],
});
