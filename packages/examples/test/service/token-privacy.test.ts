import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningRole } from '@medals/examples';
import { OlympicClient, OlympicHttpError, redactPath, startRole } from '@medals/examples';
import { TOKEN, testOptions, waitFor } from './cluster';
import { raw } from './raw-http';

describe('redactPath', () => {
  it.each([
    ['/incrementMedalTally/Gaul/gold/TOKEN', '/incrementMedalTally/Gaul/gold/…'],
    ['/incrementMedalTally/Gaul/gold', '/incrementMedalTally/Gaul/gold'],
    ['/setScore/Stone%20Curling/3/2/TOKEN', '/setScore/Stone%20Curling/3/2/…'],
    ['/setScore/Stone%20Curling/3/2/TOKEN/more', '/setScore/Stone%20Curling/3/2/…'],
    ['/getMedalTally/Gaul', '/getMedalTally/Gaul'],
    ['/getMedalTally/Gaul/TOKEN', '/getMedalTally/Gaul/…'],
    ['/incrementMedalTaly/Gaul/gold/TOKEN', '/incrementMedalTaly/…'],
    ['/getScore/Stone%20Curling?token=TOKEN', '/getScore/Stone%20Curling?…'],
    ['/raffle', '/raffle'],
  ])('shows %s as %s', (target, shown) => {
    expect(redactPath(target)).toBe(shown);
  });
});

describe("the token in the REST API's answers and records", () => {
  let single: RunningRole;
  const paths: string[] = [];

  beforeAll(async () => {
    single = await startRole({ role: 'single', id: 'single' }, testOptions());
    single.onEvent((event, data) => {
      if (event === 'http:request') paths.push((data as { path: string }).path);
    });
  });
  afterAll(() => single.stop());

  it('is echoed in no error and recorded in no request path, wherever a client put it', async () => {
    const attempts: [string, string][] = [
      ['PUT', `/incrementMedalTally/Gaul/gold/${TOKEN}`],
      ['PUT', `/incrementMedalTaly/Gaul/gold/${TOKEN}`],
      ['GET', `/incrementMedalTally/Gaul/gold/${TOKEN}`],
      ['PUT', `/incrementMedalTally/Gaul/tin/${TOKEN}`],
      ['PUT', `/setScore/Stone%20Curling/1/2/${TOKEN}/extra`],
      ['GET', `/getScore/Stone%20Curling?token=${TOKEN}`],
    ];
    for (const [method, target] of attempts) {
      const answer = await raw(single.url as string, method, target);
      expect(JSON.stringify(answer.body)).not.toContain(TOKEN);
    }
    await waitFor('every request recorded', () => paths.length >= attempts.length);
    expect(paths.join('\n')).not.toContain(TOKEN);
    expect(paths).toContain('/incrementMedalTally/Gaul/gold/…');
  });
});

describe("the token in the client's errors", () => {
  let single: RunningRole;

  beforeAll(async () => {
    single = await startRole({ role: 'single', id: 'single' }, testOptions());
  });
  afterAll(() => single.stop());

  it('goes as Authorization: Bearer by default, so no URL holds it', async () => {
    const seen: { url: string; authorization: string | undefined }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"team":"Gaul","gold":1,"silver":0,"bronze":0}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new OlympicClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: TOKEN,
    });
    try {
      await client.incrementMedalTally('Gaul', 'gold');
      await client.setScore('Stone Curling', 1, 2);
      expect(seen).toEqual([
        { url: '/incrementMedalTally/Gaul/gold', authorization: `Bearer ${TOKEN}` },
        { url: '/setScore/Stone%20Curling/1/2', authorization: `Bearer ${TOKEN}` },
      ]);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('is not in the message nor the target of an error answered to a write, even in the path form', async () => {
    for (const tokenIn of ['path', 'header'] as const) {
      const client = new OlympicClient({ baseUrl: single.url as string, token: TOKEN, tokenIn });
      try {
        const error = await client
          .incrementMedalTally('Atlantis', 'gold')
          .catch((err: unknown) => err);
        expect(error).toBeInstanceOf(OlympicHttpError);
        const { status, message, target } = error as OlympicHttpError;
        expect(status).toBe(404);
        expect(`${message} ${target} ${String(error)}`).not.toContain(TOKEN);
        expect(target).toMatch(
          tokenIn === 'path' ? /\/Atlantis\/gold\/<token>$/ : /\/Atlantis\/gold$/,
        );
      } finally {
        client.close();
      }
    }
  });

  it('is not in the error of a write that times out', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = new OlympicClient({
      baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      token: TOKEN,
      tokenIn: 'path',
      timeoutMs: 100,
    });
    try {
      const error = (await client
        .setScore('Stone Curling', 1, 2)
        .catch((err: unknown) => err)) as Error;
      expect(error.message).toMatch(/took longer than 100 ms/);
      expect(error.message).not.toContain(TOKEN);
    } finally {
      client.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
