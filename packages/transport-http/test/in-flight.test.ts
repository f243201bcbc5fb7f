import { BackpressureError } from '@medals/core';
import { HttpTransport } from '@medals/transport-http';
import { errorsOf, startTransports, stopTransports } from './support/transports';

afterEach(stopTransports);

describe('messages in flight', () => {
  it('are bounded: past maxInFlight a request fails at once with BackpressureError and a one-way message is dropped with an error event', async () => {
    const [a, b] = await startTransports({ nodeId: 'a', maxInFlight: 3 }, { nodeId: 'b' });
    const senderErrors = errorsOf(a!);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const arrived: unknown[] = [];
    let allArrived!: () => void;
    const threeArrived = new Promise<void>((resolve) => (allArrived = resolve));
    b!.handle('hold', async (n: number) => {
      if (arrived.push(n) === 3) allArrived();
      await released;
      return n;
    });
    b!.handle('note', (n: number) => void arrived.push(n));

    const held = [1, 2, 3].map((n) => a!.request('b', 'hold', n));
    await threeArrived;

    const error = await a!.request('b', 'hold', 4).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BackpressureError);
    expect(error).toMatchObject({ code: 'ERR_BACKPRESSURE', peer: 'b' });
    expect((error as Error).message).toContain('maxInFlight 3');

    const dropped = new Promise<Error>((resolve) => a!.once('error', resolve));
    a!.send('b', 'note', 5);
    expect(await dropped).toBeInstanceOf(BackpressureError);

    release();
    await expect(Promise.all(held)).resolves.toEqual([1, 2, 3]);
    await expect(a!.request('b', 'hold', 6)).resolves.toBe(6);
    expect(arrived).toEqual([1, 2, 3, 6]);
    expect(senderErrors).toEqual([expect.any(BackpressureError)]);
  });

  it('count one-way messages too, until their 202 arrives', async () => {
    const [a, b] = await startTransports({ nodeId: 'a', maxInFlight: 1 }, { nodeId: 'b' });
    b!.handle('note', () => undefined);
    b!.handle('ping', () => 'pong');
    a!.send('b', 'note', 1);
    await expect(a!.request('b', 'ping', null)).rejects.toBeInstanceOf(BackpressureError);
  });

  it('must be a positive integer', () => {
    expect(() => new HttpTransport({ nodeId: 'a', maxInFlight: 0 })).toThrow(RangeError);
    expect(() => new HttpTransport({ nodeId: 'a', maxInFlight: 1.5 })).toThrow(RangeError);
  });
});
