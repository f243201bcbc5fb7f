import { MemoryNetwork, NodeEventBus, SeededRandom, VirtualScheduler } from '@medals/core';
import { MemoryRaffleArchive } from '../../../src/service/raffle-history/memory-raffle-archive';
import { RaffleArchiveServer } from '../../../src/service/raffle-history/raffle-archive-server';
import { RaffleHistoryMessages } from '../../../src/service/raffle-history/raffle-history-protocol';

describe('RaffleArchiveServer', () => {
  it('says nothing while no front-end has answered yet (the cluster starting), then one error per outage', async () => {
    const scheduler = new VirtualScheduler();
    const network = new MemoryNetwork({ scheduler, random: new SeededRandom(1) });
    const db = network.transport('db');
    const fe1 = network.transport('fe1');
    for (const [node, peer] of [
      [db, 'fe1'],
      [fe1, 'db'],
    ] as const) {
      await node.start();
      node.addPeer(peer, network.addressOf(peer));
    }
    const events = new NodeEventBus();
    const errors: string[] = [];
    events.on('node:error', ({ component, code }) => errors.push(`${component} ${code}`));
    const server = new RaffleArchiveServer(
      'db',
      ['db', 'fe1'],
      new MemoryRaffleArchive(),
      db,
      scheduler,
      events,
      { archiveIntervalMs: 100, fetchTimeoutMs: 50 },
    );
    await server.start();

    // fe1 is up but its raffle is not (no handler yet): ten fetches fail, none is reported.
    await scheduler.advance(1_000);
    expect(errors).toEqual([]);

    fe1.handle(RaffleHistoryMessages.history, () => ({ entries: [], winners: [] }));
    fe1.handle(RaffleHistoryMessages.archived, () => undefined);
    await scheduler.advance(300);

    // Heard from once: losing it now is an outage, told once however many fetches fail.
    fe1.unhandle(RaffleHistoryMessages.history);
    await scheduler.advance(1_000);
    expect(errors).toEqual(['raffle-archive ERR_REMOTE']);

    await server.stop();
    await Promise.all([db.stop(), fe1.stop()]);
  });
});
