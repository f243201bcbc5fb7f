import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryTallyStore, NodeEventBus, SeededRandom } from '@medals/core';
import { LocalRaffle, OlympicApi } from '@medals/examples';
import { TOKEN } from './cluster';
import { raw } from './raw-http';

describe("the REST API's count of active clients", () => {
  let now = 0;
  let api: OlympicApi;
  let server: Server;
  let store: MemoryTallyStore;
  let url = '';

  beforeEach(async () => {
    now = 0;
    store = new MemoryTallyStore();
    await store.start();
    const raffle = new LocalRaffle({
      server: 'single',
      random: new SeededRandom(1),
      events: new NodeEventBus(),
    });
    api = new OlympicApi({
      nodeId: 'single',
      store,
      raffle,
      token: TOKEN,
      activeClientWindowMs: 10_000,
      now: () => now,
      raffleBatchMs: 0,
    });
    server = createServer(api.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    api.stop();
    await store.stop();
  });

  const read = (client: string): Promise<unknown> =>
    raw(url, 'GET', '/getMedalTally/Gaul', { 'x-client-id': client }).then((answer) => {
      expect(answer.status).toBe(200);
    });

  it('counts the clients served within the window, and forgets those served before it', async () => {
    await read('asterix');
    await read('obelix');
    expect(api.load).toMatchObject({ clients: 2, activeClients: 2, requests: 2 });
    now = 5_000;
    await read('asterix');
    await read('asterix');
    expect(api.load).toMatchObject({ clients: 2, activeClients: 2, requests: 4 });
    now = 10_050;
    expect(api.load).toMatchObject({ clients: 2, activeClients: 1 });
    now = 15_050;
    expect(api.load).toMatchObject({ clients: 2, activeClients: 0 });
    await read('obelix');
    expect(api.load).toMatchObject({ clients: 2, activeClients: 1, requests: 5 });
  });

  it('counts a client served again after a while from its latest request', async () => {
    await read('asterix');
    await read('obelix');
    now = 9_000;
    await read('asterix');
    now = 12_000;
    expect(api.load.activeClients).toBe(1);
    now = 18_900;
    expect(api.load.activeClients).toBe(1);
    now = 19_100;
    expect(api.load.activeClients).toBe(0);
  });

  it('does not count failed requests as served', async () => {
    const answer = await raw(url, 'GET', '/getMedalTally/Atlantis', { 'x-client-id': 'brutus' });
    expect(answer.status).toBe(404);
    expect(api.load).toMatchObject({ clients: 0, activeClients: 0, requests: 0 });
  });
});
