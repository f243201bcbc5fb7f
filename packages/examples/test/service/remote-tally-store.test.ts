import type { MedalsEvents, MedalsNode, TallyStore } from '@medals/core';
import { MemoryTallyStore, createNode } from '@medals/core';
import { tallyStoreCompliance } from '@medals/core/testing';
import { RemoteTallyStore, TallyMessages, tallyStoreServer } from '@medals/examples';
import { TcpTransport, tcp } from '@medals/transport-tcp';

/** A db node serving a memory store, and a front-end node holding the remote store. */
interface Pair {
  db: MedalsNode;
  frontEnd: MedalsNode;
}

const pairs = new Map<TallyStore, Pair>();

async function startPair(
  store: TallyStore,
  cache: boolean,
): Promise<{ pair: Pair; remote: RemoteTallyStore }> {
  // A short lease keeps each test's start-up grace period short.
  const db = createNode({
    id: 'db',
    transport: tcp({ listen: '127.0.0.1:0' }),
    members: ['db', 'fe'],
    plugins: [tallyStoreServer(store, { leaseMs: 20 })],
  });
  const frontEnd = createNode({
    id: 'fe',
    transport: tcp({ listen: '127.0.0.1:0' }),
    members: ['db', 'fe'],
  });
  await Promise.all([db.listen(), frontEnd.listen()]);
  db.transport.addPeer('fe', frontEnd.transport.address);
  frontEnd.transport.addPeer('db', db.transport.address);
  await Promise.all([db.start(), frontEnd.start()]);
  const remote = new RemoteTallyStore({
    transport: frontEnd.transport,
    db: 'db',
    cache,
    leaseMs: 20,
  });
  await remote.start();
  return { pair: { db, frontEnd }, remote };
}

describe.each([false, true])('RemoteTallyStore over TCP (cache: %s)', (cache) => {
  tallyStoreCompliance(`RemoteTallyStore${cache ? ' with a read cache' : ''}`, {
    async setup(options) {
      const { pair, remote } = await startPair(new MemoryTallyStore(options), cache);
      pairs.set(remote, pair);
      return remote;
    },
    async teardown(store) {
      await store.stop();
      const pair = pairs.get(store) as Pair;
      pairs.delete(store);
      await pair.frontEnd.stop();
      await pair.db.stop();
    },
  });
});

describe('TallyStoreServer', () => {
  let pair: Pair;
  let remote: RemoteTallyStore;
  let stranger: TcpTransport;
  const errors: MedalsEvents['node:error'][] = [];

  beforeAll(async () => {
    ({ pair, remote } = await startPair(new MemoryTallyStore(), true));
    pair.db.events.on('node:error', (error) => errors.push(error));
    stranger = new TcpTransport({ nodeId: 'stranger', listen: '127.0.0.1:0' });
    await stranger.start();
    stranger.addPeer('db', pair.db.transport.address);
  });

  afterAll(async () => {
    await stranger.stop();
    await remote.stop();
    await pair.frontEnd.stop();
    await pair.db.stop();
  });

  it.each([
    ['a payload of the wrong type', TallyMessages.getMedalTally, 'Gaul'],
    ['a missing field', TallyMessages.incrementMedal, { team: 'Gaul', medal: 'gold' }],
    ['an unexpected field', TallyMessages.getScore, { event: 'Stone Curling', extra: 1 }],
    [
      'a negative score',
      TallyMessages.setScore,
      { event: 'Stone Curling', scores: { Gaul: -1 }, operationId: 'x' },
    ],
    ['an absurd team name', TallyMessages.getMedalTally, { team: 'G'.repeat(5_000) }],
  ])(
    'refuses %s with ERR_INVALID_MESSAGE and a node:error, changing nothing',
    async (_, type, payload) => {
      errors.length = 0;
      await expect(pair.frontEnd.transport.request('db', type, payload)).rejects.toMatchObject({
        remoteCode: 'ERR_INVALID_MESSAGE',
      });
      expect(errors).toEqual([
        expect.objectContaining({ node: 'db', code: 'ERR_INVALID_MESSAGE' }),
      ]);
      await expect(remote.listMedalTallies()).resolves.toEqual([
        { team: 'Gaul', gold: 0, silver: 0, bronze: 0 },
        { team: 'Rome', gold: 0, silver: 0, bronze: 0 },
      ]);
    },
  );

  it('refuses requests from a node that is not a member, changing nothing', async () => {
    errors.length = 0;
    await expect(
      stranger.request('db', TallyMessages.incrementMedal, {
        team: 'Gaul',
        medal: 'gold',
        operationId: 'evil',
      }),
    ).rejects.toMatchObject({ remoteCode: 'ERR_INVALID_MESSAGE' });
    expect(errors).toEqual([
      expect.objectContaining({ component: 'tally-store-server', code: 'ERR_INVALID_MESSAGE' }),
    ]);
    await expect(remote.getMedalTally('Gaul')).resolves.toEqual({
      team: 'Gaul',
      gold: 0,
      silver: 0,
      bronze: 0,
    });
  });

  it('refuses invalidations that do not come from the db', async () => {
    stranger.addPeer('fe', pair.frontEnd.transport.address);
    await remote.getMedalTally('Rome');
    await expect(
      stranger.request('fe', TallyMessages.invalidate, { keys: ['medal:Rome'], version: 99 }),
    ).rejects.toMatchObject({ name: 'RemoteError' });
    expect(remote.cachedKeys).toBeGreaterThan(0);
  });
});

describe('RemoteTallyStore.start', () => {
  it('asks again, with a backoff, a db that listens but has no tally.* handlers yet', async () => {
    const db = createNode({
      id: 'db',
      transport: tcp({ listen: '127.0.0.1:0' }),
      members: ['db', 'fe'],
      plugins: [tallyStoreServer(new MemoryTallyStore(), { leaseMs: 20 })],
    });
    const frontEnd = createNode({
      id: 'fe',
      transport: tcp({ listen: '127.0.0.1:0' }),
      members: ['db', 'fe'],
    });
    await Promise.all([db.listen(), frontEnd.listen()]);
    db.transport.addPeer('fe', frontEnd.transport.address);
    frontEnd.transport.addPeer('db', db.transport.address);
    await frontEnd.start();
    const remote = new RemoteTallyStore({ transport: frontEnd.transport, db: 'db', leaseMs: 20 });
    try {
      const starting = remote.start();
      // Answered "no handler for message type tally.catalog" until the db's plugins start.
      await expect(
        frontEnd.transport.request('db', TallyMessages.catalog, {}),
      ).rejects.toMatchObject({ remoteCode: 'ERR_NO_HANDLER' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.start();
      await starting;
      await expect(remote.getMedalTally('Gaul')).resolves.toMatchObject({ team: 'Gaul' });
    } finally {
      await remote.stop();
      await frontEnd.stop();
      await db.stop();
    }
  });
});
