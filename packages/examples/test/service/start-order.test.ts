import type { RunningRole } from '@medals/examples';
import { startRole } from '@medals/examples';
import { freePorts, testOptions } from './cluster';
import { raw } from './raw-http';

describe('a front-end started before the db', () => {
  it('waits for the db with a backoff and serves once the db is up', async () => {
    const [dbPort, fePort] = await freePorts(2);
    const db = `tcp://127.0.0.1:${dbPort}`;
    const fe = `tcp://127.0.0.1:${fePort}`;
    const started: RunningRole[] = [];
    try {
      const frontEnd = startRole(
        { role: 'frontend', id: 'fe1', listen: `127.0.0.1:${fePort}`, peers: { db } },
        testOptions(),
      );
      // The db comes up well after the front-end's first catalog requests were refused.
      await new Promise((resolve) => setTimeout(resolve, 300));
      started.push(
        await startRole(
          { role: 'db', id: 'db', listen: `127.0.0.1:${dbPort}`, peers: { fe1: fe } },
          testOptions(),
        ),
      );
      started.push(await frontEnd);
      const answer = await raw(started[1].url as string, 'GET', '/getMedalTally/Gaul');
      expect(answer).toMatchObject({
        status: 200,
        body: { team: 'Gaul', gold: 0, silver: 0, bronze: 0 },
      });
    } finally {
      for (const role of started.reverse()) await role.stop();
    }
  });

  it('gives up with ERR_STORE_UNAVAILABLE once the start timeout has passed', async () => {
    const [dbPort, fePort] = await freePorts(2);
    const startedAt = Date.now();
    await expect(
      startRole(
        {
          role: 'frontend',
          id: 'fe1',
          listen: `127.0.0.1:${fePort}`,
          peers: { db: `tcp://127.0.0.1:${dbPort}` },
        },
        testOptions({ startTimeoutMs: 400 }),
      ),
    ).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: expect.stringMatching(/^db db did not answer within 400 ms \(\d+ attempt\(s\)\)/),
    });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
  });
});
