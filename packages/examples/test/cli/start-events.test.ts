import { launchCluster } from '../../src/cli/launch-cluster';
import { NodeProcessGroup } from '../../src/cli/node-process-group';
import { requireBuiltCli, testOptions, waitFor } from './support';

jest.setTimeout(60_000);

/**
 * A node reports the events of its start too: each learns the leader while
 * it starts, and its `elected` event must reach the launcher (it used to be
 * lost, so a cluster's log had the winner's "leader is" line at most).
 */
describe('a launched node', () => {
  beforeAll(() => requireBuiltCli());

  it('reports the leader it learned while starting, as every other node does', async () => {
    const leaders = new Map<string, string>();
    const group = new NodeProcessGroup();
    group.on('event', (node, event, data) => {
      if (event === 'elected') leaders.set(node, String((data as { leader: unknown }).leader));
    });
    const cluster = await launchCluster(
      { frontEnds: 2, options: testOptions(), dispatcher: false },
      group,
    );
    try {
      await waitFor('an elected event from every node', () => leaders.size === 3);
      expect([...leaders.keys()].sort()).toEqual(['db', 'fe1', 'fe2']);
      expect(new Set(leaders.values()).size).toBe(1);
    } finally {
      await cluster.stop();
    }
  });
});
