import { HttpParseError, ResponseParser } from '../src/response-parser';

/** Feeds `bytes` split into pieces of `size` and returns the responses seen. */
function parse(
  bytes: string,
  size: number,
  noBody: boolean[] = [],
): { status: number; closes: boolean }[] {
  const seen: { status: number; closes: boolean }[] = [];
  let asked = 0;
  const parser = new ResponseParser({
    expectsNoBody: () => noBody[asked++] ?? false,
    onResponse: (status, closes) => seen.push({ status, closes }),
  });
  const buffer = Buffer.from(bytes, 'latin1');
  for (let at = 0; at < buffer.length; at += size) parser.feed(buffer.subarray(at, at + size));
  parser.end();
  return seen;
}

const withLength =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
const chunked =
  'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n' +
  '5\r\nhello\r\nA;name=value\r\n, world!!!\r\n0\r\nX-Trailer: yes\r\n\r\n';
const noContent = 'HTTP/1.1 204 No Content\r\nDate: today\r\n\r\n';
const closing =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy';

describe('ResponseParser', () => {
  it('reads Content-Length, chunked (with extensions and trailers) and bodiless responses however the bytes are split', () => {
    const stream = withLength + chunked + noContent + closing;
    const expected = [
      { status: 200, closes: false },
      { status: 201, closes: false },
      { status: 204, closes: false },
      { status: 503, closes: true },
    ];
    for (const size of [1, 2, 3, 7, 16, 64, stream.length]) {
      expect(parse(stream, size)).toEqual(expected);
    }
  });

  it('reads only the bytes of each read when the read buffer is reused and holds stale bytes past them', () => {
    const stream = Buffer.from(withLength + chunked + noContent, 'latin1');
    for (const size of [5, 23, 40, 64, 128]) {
      const seen: number[] = [];
      const parser = new ResponseParser({
        expectsNoBody: () => false,
        onResponse: (status) => seen.push(status),
      });
      // Stale bytes that would end a head, set a bad length or end a chunk if they were read.
      const reused = Buffer.alloc(256, '\r\ncontent-length: x\r\n\r\n0\r\n\r\n', 'latin1');
      for (let at = 0; at < stream.length; at += size) {
        parser.feed(reused, stream.copy(reused, 0, at, Math.min(at + size, stream.length)));
      }
      expect(seen).toEqual([200, 201, 204]);
    }
  });

  it('skips interim 1xx responses and reads the final one', () => {
    expect(parse('HTTP/1.1 100 Continue\r\n\r\n' + withLength, 5)).toEqual([
      { status: 200, closes: false },
    ]);
  });

  it('reads no body for a HEAD request even when Content-Length says one exists', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n';
    expect(parse(head + withLength, 4, [true, false])).toEqual([
      { status: 200, closes: false },
      { status: 200, closes: false },
    ]);
  });

  it('completes a response without length when the connection ends, and treats HTTP/1.0 as closing', () => {
    expect(parse('HTTP/1.0 200 OK\r\n\r\nuntil the end', 3)).toEqual([
      { status: 200, closes: true },
    ]);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', 3)).toEqual([
      { status: 200, closes: true },
    ]);
  });

  it('rejects bytes that are not an HTTP/1.x response', () => {
    expect(() => parse('SSH-2.0-OpenSSH\r\n\r\n', 64)).toThrow(HttpParseError);
    expect(() => parse('HTTP/1.1 2x0 OK\r\n\r\n', 64)).toThrow(HttpParseError);
    expect(() => parse('HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n', 64)).toThrow(
      HttpParseError,
    );
    expect(() => parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 64)).toThrow(
      HttpParseError,
    );
  });
});
