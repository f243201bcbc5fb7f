import { staticLeader } from '@medals/core';
import { electionCompliance } from '@medals/core/testing';

electionCompliance('StaticElection', {
  plugins: () => [staticLeader('n1')],
  supportsFailover: false,
});
