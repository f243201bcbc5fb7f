import type { RunningRole } from '@medals/examples';
import { DispatcherClient, OlympicClient, startRole } from '@medals/examples';
import { TOKEN, startCluster, testOptions } from './cluster';
import type { TestCluster } from './cluster';
import { raw } from './raw-http';

const zeroTallies = [
  { team: 'Gaul', gold: 0, silver: 0, bronze: 0 },
  { team: 'Rome', gold: 0, silver: 0, bronze: 0 },
];
const zeroScores = ['Stone Curling', 'Stone Skating', 'Underwater Stone Weaving'].map((event) => ({
  event,
  Gaul: 0,
  Rome: 0,
}));

/** Every malformed, unauthorised or unknown request of DESIGN.md section 5, and what it gets. */
const badRequests: {
  name: string;
  method: string;
  target: string;
  status: number;
  headers?: Record<string, string>;
  body?: string;
}[] = [
  { name: 'an unknown team', method: 'GET', target: '/getMedalTally/Atlantis', status: 404 },
  { name: 'a team in the wrong case', method: 'GET', target: '/getMedalTally/gaul', status: 404 },
  { name: 'an unknown event', method: 'GET', target: '/getScore/Chariot%20Racing', status: 404 },
  { name: 'an unknown route', method: 'GET', target: '/getMedals/Gaul', status: 404 },
  { name: 'a missing team', method: 'GET', target: '/getMedalTally', status: 404 },
  { name: 'an extra segment', method: 'GET', target: '/getMedalTally/Gaul/gold', status: 404 },
  { name: 'a bad percent-encoding', method: 'GET', target: '/getMedalTally/%E0%A4%A', status: 400 },
  {
    name: 'an unknown medal type',
    method: 'PUT',
    target: `/incrementMedalTally/Gaul/platinum/${TOKEN}`,
    status: 400,
  },
  {
    name: 'an increment of an unknown team',
    method: 'POST',
    target: `/incrementMedalTally/Atlantis/gold/${TOKEN}`,
    status: 404,
  },
  {
    name: 'a missing medal type',
    method: 'PUT',
    target: `/incrementMedalTally/Gaul`,
    status: 404,
  },
  ...['-1', '1.5', 'abc', '1e3', '99999999999999999', '%20'].map((score) => ({
    name: `a score of ${JSON.stringify(score)}`,
    method: 'PUT',
    target: `/setScore/Stone%20Curling/${score}/2/${TOKEN}`,
    status: 400,
  })),
  {
    name: 'a score of an unknown event',
    method: 'PUT',
    target: `/setScore/Chariot%20Racing/1/2/${TOKEN}`,
    status: 404,
  },
  {
    name: 'a write without a token',
    method: 'PUT',
    target: '/incrementMedalTally/Gaul/gold',
    status: 401,
  },
  {
    name: 'a write with a wrong path token',
    method: 'PUT',
    target: '/incrementMedalTally/Gaul/gold/not-the-token',
    status: 403,
  },
  {
    name: 'a write with a wrong bearer token',
    method: 'PUT',
    target: '/setScore/Stone%20Curling/1/2',
    headers: { authorization: 'Bearer not-the-token' },
    status: 403,
  },
  {
    name: 'a right path token with a wrong bearer token',
    method: 'PUT',
    target: `/incrementMedalTally/Gaul/gold/${TOKEN}`,
    headers: { authorization: 'Bearer not-the-token' },
    status: 403,
  },
  {
    name: 'an Authorization header that is not Bearer',
    method: 'PUT',
    target: '/incrementMedalTally/Gaul/gold',
    headers: { authorization: `Basic ${Buffer.from(`cacofonix:${TOKEN}`).toString('base64')}` },
    status: 401,
  },
  {
    name: 'a wrong token before an unknown team',
    method: 'PUT',
    target: '/incrementMedalTally/Atlantis/gold/nope',
    status: 403,
  },
  {
    name: 'a write by GET',
    method: 'GET',
    target: `/incrementMedalTally/Gaul/gold/${TOKEN}`,
    status: 405,
  },
  { name: 'a read by DELETE', method: 'DELETE', target: '/getMedalTally/Gaul', status: 405 },
  { name: 'a raffle by POST', method: 'POST', target: '/raffle', status: 405 },
  {
    name: 'a request target over 2,048 characters',
    method: 'GET',
    target: `/getMedalTally/${'G'.repeat(3_000)}`,
    status: 414,
  },
  {
    name: 'a body over 16 KiB',
    method: 'PUT',
    target: `/incrementMedalTally/Gaul/gold/${TOKEN}`,
    body: 'x'.repeat(20_000),
    status: 413,
  },
  {
    name: 'an X-Client-Id over 200 characters',
    method: 'GET',
    target: '/getMedalTally/Gaul',
    headers: { 'x-client-id': 'c'.repeat(201) },
    status: 400,
  },
  {
    name: 'an Idempotency-Key with spaces',
    method: 'PUT',
    target: `/incrementMedalTally/Gaul/gold/${TOKEN}`,
    headers: { 'idempotency-key': 'two words' },
    status: 400,
  },
];

describe.each([
  ['the two-tier service, through the dispatcher', 'two-tier'],
  ['the single-tier server', 'single'],
])('the lab API on %s', (_, tier) => {
  let cluster: TestCluster | undefined;
  let single: RunningRole | undefined;
  let baseUrls: string[];

  beforeAll(async () => {
    if (tier === 'two-tier') {
      cluster = await startCluster(2);
      const dispatcher = new DispatcherClient({ baseUrl: cluster.dispatcher.url as string });
      baseUrls = [(await dispatcher.getServer()).server, (await dispatcher.getServer()).server];
      dispatcher.close();
    } else {
      single = await startRole({ role: 'single', id: 'single' }, testOptions());
      baseUrls = [single.url as string, single.url as string];
    }
  });

  afterAll(async () => {
    await cluster?.stop();
    await single?.stop();
  });

  function client(i: number, tokenIn: 'path' | 'header' = 'path'): OlympicClient {
    return new OlympicClient({ baseUrl: baseUrls[i], clientId: `c${i}`, token: TOKEN, tokenIn });
  }

  async function snapshot(): Promise<unknown> {
    const c = client(0);
    try {
      return {
        tallies: await Promise.all(['Gaul', 'Rome'].map((team) => c.getMedalTally(team))),
        scores: await Promise.all(zeroScores.map(({ event }) => c.getScore(event))),
      };
    } finally {
      c.close();
    }
  }

  it('answers every bad request with its status and a JSON error, and changes nothing', async () => {
    for (const bad of badRequests) {
      const answer = await raw(baseUrls[0], bad.method, bad.target, bad.headers, bad.body);
      expect({ name: bad.name, status: answer.status }).toEqual({
        name: bad.name,
        status: bad.status,
      });
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.body).toEqual({ error: expect.any(String) });
      if (bad.status === 405) expect(answer.headers.allow).toBeDefined();
      if (bad.status === 401) expect(answer.headers['www-authenticate']).toBe('Bearer');
    }
    expect(await snapshot()).toEqual({ tallies: zeroTallies, scores: zeroScores });
  });

  it('counts medals and keeps scores, reading through either server what was written through the other', async () => {
    const [a, b] = [client(0), client(1, 'header')];
    try {
      await expect(a.getMedalTally('Gaul')).resolves.toEqual(zeroTallies[0]);
      await expect(a.incrementMedalTally('Gaul', 'gold')).resolves.toEqual({
        ok: true,
        team: 'Gaul',
        gold: 1,
        silver: 0,
        bronze: 0,
      });
      await expect(b.getMedalTally('Gaul')).resolves.toEqual({
        team: 'Gaul',
        gold: 1,
        silver: 0,
        bronze: 0,
      });
      await expect(b.incrementMedalTally('Gaul', 'SILVER')).resolves.toMatchObject({ silver: 1 });
      await expect(a.getMedalTally('Gaul')).resolves.toEqual({
        team: 'Gaul',
        gold: 1,
        silver: 1,
        bronze: 0,
      });
      await expect(b.setScore('Underwater Stone Weaving', 3, 5)).resolves.toEqual({
        ok: true,
        event: 'Underwater Stone Weaving',
        Rome: 3,
        Gaul: 5,
      });
      await expect(a.getScore('Underwater Stone Weaving')).resolves.toEqual({
        event: 'Underwater Stone Weaving',
        Rome: 3,
        Gaul: 5,
      });
      const status = await a.status();
      expect(status).toMatchObject({
        node: expect.any(String),
        role: tier === 'single' ? 'single' : 'frontend',
        load: { inFlight: 1, served: expect.any(Number), requests: expect.any(Number) },
      });
      expect((status.load as { requests: number }).requests).toBeGreaterThan(0);
      if (tier === 'two-tier') {
        expect(status).toMatchObject({ leader: expect.any(String), term: expect.any(Number) });
      }
      const healthz = await raw(baseUrls[1], 'GET', '/healthz');
      expect(healthz).toMatchObject({ status: 200, body: { ok: true } });
    } finally {
      a.close();
      b.close();
    }
  });

  it('counts a write retried with the same Idempotency-Key once, and refuses the key for another write', async () => {
    const [a, b] = [client(0), client(1)];
    try {
      const first = await a.incrementMedalTally('Rome', 'bronze', {
        idempotencyKey: `retry-${tier}`,
      });
      await expect(
        b.incrementMedalTally('Rome', 'bronze', { idempotencyKey: `retry-${tier}` }),
      ).resolves.toEqual(first);
      await expect(a.getMedalTally('Rome')).resolves.toMatchObject({ bronze: 1 });
      await expect(
        b.incrementMedalTally('Rome', 'gold', { idempotencyKey: `retry-${tier}` }),
      ).rejects.toMatchObject({
        status: 409,
      });
      await expect(b.getMedalTally('Rome')).resolves.toEqual({
        team: 'Rome',
        gold: 0,
        silver: 0,
        bronze: 1,
      });
    } finally {
      a.close();
      b.close();
    }
  });
});
