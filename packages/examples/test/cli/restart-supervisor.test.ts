import { EventEmitter } from 'node:events';
import type {
  LaunchedNode,
  NodeExit,
  NodeProcessGroupEvents,
} from '../../src/cli/node-process-group';
import { RestartSupervisor } from '../../src/cli/restart-supervisor';

/** A process group whose nodes die when the test says, and restart as the supervisor asks. */
class FakeGroup extends EventEmitter<NodeProcessGroupEvents> {
  readonly restarts: string[] = [];
  nodes: LaunchedNode[] = [
    { id: 'fe1', role: 'frontend', pid: 1, url: 'http://a:1', address: 'tcp://a:2' },
  ];

  restart(id: string): Promise<LaunchedNode> {
    this.restarts.push(id);
    return Promise.resolve({
      id,
      role: 'frontend',
      pid: 100 + this.restarts.length,
      url: 'http://a:3',
      address: 'tcp://a:2',
    });
  }

  die(id: string, expected = false): void {
    const exit: NodeExit = { code: null, signal: 'SIGKILL', expected };
    this.emit('exit', id, exit);
  }
}

describe('RestartSupervisor', () => {
  let group: FakeGroup;
  let supervisor: RestartSupervisor;
  let log: string[];

  beforeEach(() => {
    jest.useFakeTimers();
    group = new FakeGroup();
    supervisor = new RestartSupervisor(group);
    log = [];
    supervisor.on('restarting', (id, exit, delayMs, attempt) =>
      log.push(`${id} ${exit.signal} in ${delayMs} ms (attempt ${attempt})`),
    );
    supervisor.on('restarted', (node, attempt) => log.push(`${node.id} up (attempt ${attempt})`));
  });

  afterEach(() => {
    supervisor.stop();
    jest.useRealTimers();
  });

  /** Lets the restart's timer fire and its promise settle. */
  async function advance(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
  }

  it('restarts a node that died, after a backoff that doubles while it keeps dying, up to 5 s', async () => {
    const delays: number[] = [];
    supervisor.on('restarting', (_id, _exit, delayMs) => delays.push(delayMs));
    for (let i = 0; i < 8; i++) {
      group.die('fe1');
      await advance(delays[delays.length - 1]);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    expect(group.restarts).toHaveLength(8);
    expect(log.slice(0, 2)).toEqual(['fe1 SIGKILL in 100 ms (attempt 1)', 'fe1 up (attempt 1)']);
  });

  it('waits the full backoff before restarting', async () => {
    group.die('fe1');
    await advance(99);
    expect(group.restarts).toEqual([]);
    await advance(1);
    expect(group.restarts).toEqual(['fe1']);
  });

  it('starts again from 100 ms once the node stayed up a while', async () => {
    group.die('fe1');
    await advance(100);
    group.die('fe1');
    await advance(200);
    await advance(10_000);
    group.die('fe1');
    expect(log[log.length - 1]).toBe('fe1 SIGKILL in 100 ms (attempt 1)');
  });

  it('leaves alone a node the group stopped, and restarts nothing once stopped', async () => {
    group.die('fe1', true);
    await advance(1_000);
    expect(log).toEqual([]);
    group.die('fe1');
    supervisor.stop();
    await advance(1_000);
    expect(group.restarts).toEqual([]);
    group.die('fe1');
    expect(log).toEqual(['fe1 SIGKILL in 100 ms (attempt 1)']);
  });
});
