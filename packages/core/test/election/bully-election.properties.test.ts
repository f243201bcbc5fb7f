import { bully, heartbeat } from '@medals/core';
import { electionProperties } from './election-properties';

electionProperties('BullyElection', () => [heartbeat(), bully()]);
