import 'reflect-metadata';
import type { BenchResult } from '../src/testing/bench';
import { mergeWithPrevious, writeBenchResults } from '../src/testing/bench';
import type { BenchSuite } from './suite';
import { clockSyncSuite } from './suites/clocksync';
import { codecSuite } from './suites/codec';
import { electionSuite } from './suites/election';
import { memoryNetworkSuite } from './suites/memory-network';
import { lamportMulticastSuite } from './suites/multicast-lamport';
import { recoverySuite } from './suites/recovery';
import { sequencerMulticastSuite } from './suites/multicast-sequencer';
import { storeSuite } from './suites/store';

// Each suite lives in its own file under suites/; add new ones here.
const suites: BenchSuite[] = [
  codecSuite,
  storeSuite,
  memoryNetworkSuite,
  electionSuite,
  clockSyncSuite,
  lamportMulticastSuite,
  sequencerMulticastSuite,
  recoverySuite,
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: BenchResult[] = [];
  for (const suite of suites) {
    if (only.length > 0 && !only.includes(suite.name)) continue;
    console.log(`# ${suite.name}`);
    results.push(...(await suite.run()));
  }
  // A filtered run updates its own figures and keeps the others of the last full run.
  writeBenchResults('core', only.length > 0 ? mergeWithPrevious('core', results) : results);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
