import { DecodeError, RemoteError, SuperjsonCodec } from '@medals/core';
import { ERROR_CODE, SEND_PATH } from '../src/constants';
import { messageHeaders, rawRequest } from './support/raw-http';
import { errorsOf, startTransports, stopTransports } from './support/transports';

const codec = new SuperjsonCodec();
const LIMIT = 64 * 1024;

afterEach(stopTransports);

describe('the body limit', () => {
  it('defaults to 1 MiB', async () => {
    const [a, b] = await startTransports(
      { nodeId: 'a', maxBodyBytes: 4 * 1024 * 1024 },
      { nodeId: 'b' },
    );
    b!.handle('size', (s: string) => s.length);
    const fits = 'x'.repeat(1024 * 1024 - 100);
    await expect(a!.request('b', 'size', fits)).resolves.toBe(fits.length);
    const error = await a!
      .request('b', 'size', fits + 'x'.repeat(200))
      .catch((err: unknown) => err);
    expect((error as RemoteError).remoteCode).toBe(ERROR_CODE.bodyTooLarge);
  });

  it('refuses a larger request with 413, counts it, and keeps serving', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b', maxBodyBytes: LIMIT });
    const receiverErrors = errorsOf(b!);
    const seen: number[] = [];
    b!.handle('size', (s: string) => seen.push(s.length) && s.length);
    const error = await a!.request('b', 'size', 'x'.repeat(LIMIT)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteCode).toBe(ERROR_CODE.bodyTooLarge);
    expect(b!.stats.bodyTooLarge).toBe(1);
    expect(receiverErrors).toEqual([expect.any(DecodeError)]);
    await expect(a!.request('b', 'size', 'x'.repeat(LIMIT - 100))).resolves.toBe(LIMIT - 100);
    expect(seen).toEqual([LIMIT - 100]);
  });

  it('keeps serving the other connections while refusing a large one', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b', maxBodyBytes: LIMIT });
    b!.handle('echo', (n: number | string) => n);
    const small = Array.from({ length: 20 }, (_, n) => a!.request('b', 'echo', n));
    const large = a!.request('b', 'echo', 'x'.repeat(4 * LIMIT)).catch((err: unknown) => err);
    await expect(Promise.all(small)).resolves.toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(((await large) as RemoteError).remoteCode).toBe(ERROR_CODE.bodyTooLarge);
  });

  it.each([
    ['a declared content-length', false],
    ['a chunked body without a length', true],
  ])(
    'answers a raw request with %s over the limit with a 413 JSON error',
    async (_case, chunked) => {
      const [b] = await startTransports({ nodeId: 'b', maxBodyBytes: LIMIT });
      const handled: unknown[] = [];
      b!.handle('note', (p: unknown) => handled.push(p));
      const body = new Uint8Array(16 * LIMIT).fill(0x20);
      const answer = await rawRequest(b!.address, {
        path: SEND_PATH,
        headers: messageHeaders({ type: 'note', from: 'x', to: 'b', body }),
        body,
        chunked,
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(answer.json).toEqual({
        error: expect.stringContaining(`over ${LIMIT} bytes`),
        name: 'DecodeError',
        code: ERROR_CODE.bodyTooLarge,
      });
      const ok = codec.encode('fits');
      const next = await rawRequest(b!.address, {
        path: SEND_PATH,
        headers: messageHeaders({ type: 'note', from: 'x', to: 'b', body: ok }),
        body: ok,
      });
      expect(next.status).toBe(202);
      expect(b!.stats.bodyTooLarge).toBe(1);
    },
  );

  it('refuses a reply over the limit with DecodeError at the caller', async () => {
    const [a, b] = await startTransports({ nodeId: 'a', maxBodyBytes: LIMIT }, { nodeId: 'b' });
    b!.handle('expand', (n: number) => 'x'.repeat(n));
    await expect(a!.request('b', 'expand', 2 * LIMIT)).rejects.toBeInstanceOf(DecodeError);
    await expect(a!.request('b', 'expand', 10)).resolves.toBe('x'.repeat(10));
  });
});
