import { heartbeat, ring } from '@medals/core';
import { electionProperties } from './election-properties';

electionProperties('RingElection', () => [heartbeat(), ring()]);
