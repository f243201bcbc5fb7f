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

describe('a db that restarts', () => {
  /** A db node on `listen` serving `store` (which outlives the node, as a file store's data does). */
  function dbNode(
    store: TallyStore,
    listen: string,
    members: string[],
    leaseMs: number,
  ): MedalsNode {
    return createNode({
      id: 'db',
      transport: tcp({ listen }),
      members,
      plugins: [tallyStoreServer(store, { leaseMs })],
    });
  }

  it('acknowledges writes once every front-end dropped its cache, and none serves a value of its previous run', async () => {
    const leaseMs = 3_000;
    const members = ['db', 'fa', 'fb'];
    const store = new MemoryTallyStore();
    let db = dbNode(store, '127.0.0.1:0', members, leaseMs);
    const frontEnds = ['fa', 'fb'].map((id) =>
      createNode({ id, transport: tcp({ listen: '127.0.0.1:0' }), members }),
    );
    const nodes = [db, ...frontEnds];
    await Promise.all(nodes.map((node) => node.listen()));
    for (const node of nodes) {
      for (const peer of nodes) {
        if (peer !== node) node.transport.addPeer(peer.id, peer.transport.address);
      }
    }
    await Promise.all(frontEnds.map((node) => node.start()));
    const [reader, writer] = frontEnds.map(
      (node) => new RemoteTallyStore({ transport: node.transport, db: 'db', cache: true, leaseMs }),
    );
    // The front-ends wait for the db, and answer its resets meanwhile.
    const starting = Promise.all([reader.start(), writer.start()]);
    await db.start();
    await starting;
    try {
      const firstRun = Date.now();
      await writer.incrementMedal('Gaul', 'gold', 'first-run');
      expect(Date.now() - firstRun).toBeLessThan(leaseMs / 2);
      expect((await reader.getMedalTally('Gaul')).gold).toBe(1);
      expect(reader.cachedKeys).toBe(1);

      const address = db.transport.address.replace('tcp://', '');
      await db.stop();
      db = dbNode(store, address, members, leaseMs);
      await db.listen();
      for (const node of frontEnds) db.transport.addPeer(node.id, node.transport.address);
      const started = Date.now();
      await db.start();
      // Retried, as a client retries a 503, until the front-end's link to the db is back.
      for (;;) {
        try {
          await writer.incrementMedal('Gaul', 'gold', 'second-run');
          break;
        } catch (err) {
          if (Date.now() - started > leaseMs) throw err;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      // Without the resets it would wait out the whole lease of its previous run.
      expect(Date.now() - started).toBeLessThan(leaseMs / 2);
      expect((await reader.getMedalTally('Gaul')).gold).toBe(2);
    } finally {
      await Promise.all([reader.stop(), writer.stop()]);
      await Promise.all(frontEnds.map((node) => node.stop()));
      await db.stop();
    }
  }, 30_000);

  it('waits out a lease before its first write when a front-end cannot be told to drop its cache', async () => {
    const leaseMs = 400;
    // `ghost` is a member nobody can reach: it might still serve what it cached from a previous run.
    const members = ['db', 'fe', 'ghost'];
    const db = dbNode(new MemoryTallyStore(), '127.0.0.1:0', members, leaseMs);
    const frontEnd = createNode({ id: 'fe', transport: tcp({ listen: '127.0.0.1:0' }), members });
    await Promise.all([db.listen(), frontEnd.listen()]);
    db.transport.addPeer('fe', frontEnd.transport.address);
    frontEnd.transport.addPeer('db', db.transport.address);
    await frontEnd.start();
    const remote = new RemoteTallyStore({ transport: frontEnd.transport, db: 'db', leaseMs });
    const starting = remote.start();
    const started = Date.now();
    await db.start();
    try {
      await starting;
      await remote.incrementMedal('Gaul', 'gold', 'op');
      expect(Date.now() - started).toBeGreaterThanOrEqual(leaseMs - 20);
    } finally {
      await remote.stop();
      await frontEnd.stop();
      await db.stop();
    }
  });
});

describe('RemoteTallyStore reads at once (medalTallyNow, scoreNow)', () => {
  it.each([true, false])(
    'answers from the read cache only while a lease holds and no write dropped it (cache: %s)',
    async (cache) => {
      const { pair, remote } = await startPair(new MemoryTallyStore(), cache);
      try {
        // Nothing read yet: the db must be asked.
        expect(remote.medalTallyNow('Gaul')).toBeUndefined();
        await remote.incrementMedal('Gaul', 'gold', 'now-1');
        await expect(remote.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 1 });
        await expect(remote.getScore('Stone Curling')).resolves.toMatchObject({
          scores: { Gaul: 0 },
        });
        if (cache) {
          expect(remote.medalTallyNow('Gaul')).toEqual({
            team: 'Gaul',
            gold: 1,
            silver: 0,
            bronze: 0,
          });
          expect(remote.scoreNow('Stone Curling')).toMatchObject({ scores: { Gaul: 0, Rome: 0 } });
        } else {
          expect(remote.medalTallyNow('Gaul')).toBeUndefined();
          expect(remote.scoreNow('Stone Curling')).toBeUndefined();
        }
        // Its own write drops the copy: a read at once would be stale.
        await remote.incrementMedal('Gaul', 'gold', 'now-2');
        expect(remote.medalTallyNow('Gaul')).toBeUndefined();
        await expect(remote.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 2 });
        // Past the 20 ms lease the copy may be stale too.
        await new Promise((resolve) => setTimeout(resolve, 40));
        expect(remote.medalTallyNow('Gaul')).toBeUndefined();
        expect(() => remote.medalTallyNow('Atlantis')).toThrow();
      } finally {
        await remote.stop();
        await pair.frontEnd.stop();
        await pair.db.stop();
      }
    },
  );
});
