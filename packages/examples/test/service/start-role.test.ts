import { startRole } from '@medals/examples';
import { testOptions, waitFor } from './cluster';
import { raw } from './raw-http';

describe('startRole', () => {
  it('refuses to serve writes without a token', async () => {
    await expect(
      startRole({ role: 'single', id: 'single' }, testOptions({ token: '' })),
    ).rejects.toThrow(/token/);
    await expect(
      startRole(
        { role: 'frontend', id: 'fe1', peers: { db: 'tcp://127.0.0.1:1' } },
        testOptions({ token: '' }),
      ),
    ).rejects.toThrow(/token/);
  });

  it('refuses a front-end that does not know the db, and a dispatcher without front-ends', async () => {
    await expect(
      startRole(
        { role: 'frontend', id: 'fe1', peers: { fe2: 'tcp://127.0.0.1:1' } },
        testOptions(),
      ),
    ).rejects.toThrow(/db/);
    await expect(
      startRole({ role: 'dispatcher', id: 'dispatcher' }, testOptions()),
    ).rejects.toThrow(
      /needs front-ends \(--front-ends\), or credentials .* MEDALS_SECRET or MEDALS_PEER_KEYS/,
    );
  });

  it('rejects when its port is taken, and stops idempotently once started', async () => {
    const single = await startRole({ role: 'single', id: 'a' }, testOptions());
    const taken = (single.url as string).replace('http://', '');
    await expect(
      startRole({ role: 'single', id: 'b', http: taken }, testOptions()),
    ).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    await Promise.all([single.stop(), single.stop()]);
    await single.stop();
  });

  it('reports what its status answers, and the events of its node', async () => {
    const db = await startRole({ role: 'db', id: 'db', listen: '127.0.0.1:0' }, testOptions());
    const events: string[] = [];
    const off = db.onEvent((event) => events.push(event));
    try {
      expect(db.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(db.url).toBeUndefined();
      await expect(db.status()).resolves.toMatchObject({ node: 'db', role: 'db', store: 'memory' });
    } finally {
      await db.stop();
      off();
    }
    expect(events).toContain('node:stopped');
  });

  it('tells per-request events only to the listeners that want them', async () => {
    const single = await startRole(
      { role: 'single', id: 'single' },
      testOptions({ raffleEvery: 1 }),
    );
    const everything: string[] = [];
    const lessChatty: string[] = [];
    single.onEvent((event) => everything.push(event));
    single.onEvent((event) => lessChatty.push(event), { perRequest: false });
    try {
      await expect(raw(single.url as string, 'GET', '/getMedalTally/Gaul')).resolves.toMatchObject({
        status: 200,
      });
      await waitFor('the request recorded', () => lessChatty.includes('raffleEntry'));
    } finally {
      await single.stop();
    }
    expect(everything).toEqual(expect.arrayContaining(['http:request', 'raffleEntry']));
    expect(lessChatty).not.toContain('http:request');
  });
});
