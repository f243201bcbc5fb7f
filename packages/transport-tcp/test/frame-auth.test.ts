import { randomBytes } from 'node:crypto';
import { blake3 } from 'hash-wasm';
import { deriveSessionKeys, FrameMac, loadFrameHasher } from '../src/frame-auth';

/** The tag as the wire format defines it, computed in one call: BLAKE3-128 of key, sequence number, contents. */
async function referenceTag(key: Buffer, sequence: number, contents: Buffer): Promise<Buffer> {
  const sequenceBytes = Buffer.alloc(8);
  sequenceBytes.writeBigUInt64BE(BigInt(sequence));
  return Buffer.from(await blake3(Buffer.concat([key, sequenceBytes, contents]), 128), 'hex');
}

beforeAll(loadFrameHasher);

describe('frame MACs', () => {
  it('are BLAKE3 of the key, the sequence number and the contents, truncated to 16 bytes, whatever the size', async () => {
    const key = randomBytes(32);
    const mac = new FrameMac(key);
    const sizes = [0, 1, 120, 4095, 4096, 4097, 70_000];
    for (const [sequence, size] of sizes.entries()) {
      const contents = randomBytes(size);
      // Split in two chunks, as a sealed frame's message frames are.
      const chunks = [contents.subarray(0, size >> 1), contents.subarray(size >> 1)];
      expect(mac.next(chunks)).toEqual(await referenceTag(key, sequence, contents));
    }
    expect(mac.sequence).toBe(sizes.length);
  });

  it('differ for another key, and a tag does not change when later tags are computed', () => {
    const contents = [Buffer.from('the same contents')];
    const first = new FrameMac(randomBytes(32)).next(contents);
    const kept = Buffer.from(first);
    const other = new FrameMac(randomBytes(32)).next(contents);
    expect(other).not.toEqual(first);
    expect(first).toEqual(kept);
  });

  it('checks tags in sequence: the same tag does not verify twice', () => {
    const key = randomBytes(32);
    const sender = new FrameMac(key);
    const receiver = new FrameMac(key);
    const first = Buffer.from('first');
    const tag = sender.next([first]);
    expect(receiver.verifyNext(first, tag)).toBe(true);
    expect(receiver.verifyNext(first, tag)).toBe(false);
    expect(receiver.verifyNext(Buffer.from('other'), sender.next([Buffer.from('other')]))).toBe(
      false,
    );
  });

  it('derives one key per direction, the same on both sides, and new ones for new nonces', () => {
    const pairKey = randomBytes(32);
    const nonces = { dialerNonce: randomBytes(32), listenerNonce: randomBytes(32) };
    const session = { pairKey, dialer: 'fe1', listener: 'db', ...nonces };
    const dialer = deriveSessionKeys({ ...session, role: 'dialer' });
    const listener = deriveSessionKeys({ ...session, role: 'listener' });
    expect(dialer.send).toEqual(listener.receive);
    expect(dialer.receive).toEqual(listener.send);
    expect(dialer.send).not.toEqual(dialer.receive);
    const next = deriveSessionKeys({ ...session, role: 'dialer', dialerNonce: randomBytes(32) });
    expect(next.send).not.toEqual(dialer.send);
    const swapped = deriveSessionKeys({
      ...session,
      role: 'dialer',
      dialer: 'db',
      listener: 'fe1',
    });
    expect(swapped.send).not.toEqual(dialer.send);
  });
});
