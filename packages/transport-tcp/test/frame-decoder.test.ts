import fc from 'fast-check';
import { DecodeError } from '@medals/core';
import { encodeFrame, FrameDecoder } from '@medals/transport-tcp';

interface Decoded {
  frames: Buffer[];
  refused: boolean;
}

/** Feeds `chunks` one read at a time, pulling every frame after each. */
function feed(decoder: FrameDecoder, chunks: Buffer[]): Decoded {
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next())
      frames.push(frame);
  }
  return { frames, refused: decoder.error !== undefined };
}

/** What a decoder must produce from the whole stream at once: the obviously correct model. */
function reference(stream: Buffer, maxFrameBytes: number): Decoded {
  const frames: Buffer[] = [];
  let offset = 0;
  while (stream.length - offset >= 4) {
    const length = stream.readUInt32BE(offset);
    if (length > maxFrameBytes) return { frames, refused: true };
    if (stream.length - offset - 4 < length) break;
    frames.push(stream.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { frames, refused: false };
}

/** Cuts `stream` at the given points (taken modulo its length). */
function split(stream: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => (stream.length === 0 ? 0 : p % stream.length)))].sort(
    (x, y) => x - y,
  );
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    if (cut > start) chunks.push(stream.subarray(start, cut));
    start = Math.max(start, cut);
  }
  chunks.push(stream.subarray(start));
  return chunks;
}

const cutPoints = fc.array(fc.nat(), { maxLength: 40 });

describe('FrameDecoder', () => {
  it('gives back every frame, whatever the reads it arrives in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 30 }),
        cutPoints,
        (bodies, points) => {
          const stream = Buffer.concat(bodies.map((body) => encodeFrame(body)));
          const decoder = new FrameDecoder(4096);
          const decoded = feed(decoder, split(stream, points));
          expect(decoded.refused).toBe(false);
          expect(decoded.frames.map((f) => [...f])).toEqual(bodies.map((b) => [...b]));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes a frame delivered one byte per read', () => {
    const body = Buffer.from('one byte at a time');
    const stream = encodeFrame(body);
    const decoded = feed(
      new FrameDecoder(100),
      [...stream].map((byte) => Buffer.from([byte])),
    );
    expect(decoded.frames).toEqual([body]);
  });

  it('never throws on garbage and cuts it exactly as a whole-stream parse would', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 8192 }),
        fc.integer({ min: 0, max: 6000 }),
        cutPoints,
        (bytes, maxFrameBytes, points) => {
          const stream = Buffer.from(bytes);
          const decoder = new FrameDecoder(maxFrameBytes);
          const decoded = feed(decoder, split(stream, points));
          const expected = reference(stream, maxFrameBytes);
          expect(decoded.refused).toBe(expected.refused);
          expect(decoded.frames.map((f) => [...f])).toEqual(expected.frames.map((f) => [...f]));
          for (const frame of decoded.frames)
            expect(frame.length).toBeLessThanOrEqual(maxFrameBytes);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a length above the limit at once, keeps the frames before it, and then ignores all input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 2000 }),
        cutPoints,
        (bodies, maxFrameBytes, excess, trailing, points) => {
          const fitting = bodies.filter((body) => body.length <= maxFrameBytes);
          const hugeLength = Math.min(0xffffffff, maxFrameBytes + excess);
          const header = Buffer.alloc(4);
          header.writeUInt32BE(hugeLength);
          const stream = Buffer.concat([
            ...fitting.map((body) => encodeFrame(body)),
            header,
            Buffer.from(trailing),
          ]);
          const decoder = new FrameDecoder(maxFrameBytes);
          const decoded = feed(decoder, split(stream, points));
          expect(decoded.refused).toBe(true);
          expect(decoder.error).toBeInstanceOf(DecodeError);
          expect(decoder.error!.message).toContain(String(hugeLength));
          expect(decoded.frames.map((f) => [...f])).toEqual(fitting.map((b) => [...b]));
          // Nothing of a refused stream is kept or given out any more.
          expect(decoder.bufferedBytes).toBe(0);
          decoder.push(encodeFrame(Buffer.from('after')));
          expect(decoder.next()).toBeUndefined();
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('applies a new limit from the very next frame', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(
      Buffer.concat([encodeFrame(Buffer.from('tiny')), encodeFrame(Buffer.from('larger body'))]),
    );
    expect(decoder.next()).toEqual(Buffer.from('tiny'));
    decoder.maxFrameBytes = 64;
    expect(decoder.next()).toEqual(Buffer.from('larger body'));
    expect(decoder.error).toBeUndefined();
  });
});
