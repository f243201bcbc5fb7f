/** The server's bytes are not an HTTP/1.1 response this parser understands. */
export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
}

/** What the parser reports for each complete response. */
export interface ResponseHandler {
  /**
   * Whether the response now starting answers a request that gets no body
   * (HEAD). Asked once per response, in order.
   */
  expectsNoBody(): boolean;
  /**
   * A whole response has arrived: its status, and whether the server will
   * close the connection after it (`Connection: close`, or HTTP/1.0 without
   * keep-alive).
   */
  onResponse(status: number, closes: boolean): void;
}

const enum State {
  Head,
  Body,
  BodyUntilClose,
  ChunkSize,
  ChunkExtension,
  ChunkData,
  ChunkDataEnd,
  TrailerLineStart,
  TrailerLine,
  TrailerEnd,
}

const CR = 13;
const LF = 10;
/** `HTTP/1.` with its letters lowercase, for {@link equalsLower}. */
const HTTP_1 = Buffer.from('http/1.', 'latin1');
const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding', 'latin1');
const CONNECTION = Buffer.from('connection', 'latin1');
const CHUNKED = Buffer.from('chunked', 'latin1');
const CLOSE = Buffer.from('close', 'latin1');
const KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');
/** Status line and headers larger than this are an error, not a reason to buffer without end. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * A minimal HTTP/1.1 response parser for a load generator: it reads the
 * status, the framing headers (`Content-Length`, `Transfer-Encoding:
 * chunked`, `Connection`) and skips the body without copying it. Responses
 * may arrive split anywhere or several in one chunk (pipelining). Anything
 * else in the headers is ignored, which is the point: the generator must
 * cost far less per response than the server it measures.
 */
export class ResponseParser {
  readonly #handler: ResponseHandler;
  #state = State.Head;
  /** Bytes of a head that arrived split across chunks. */
  #partialHead: Buffer | undefined;
  #status = 0;
  #closes = false;
  /** Body bytes left to skip (Content-Length or the current chunk). */
  #remaining = 0;
  #chunkSize = 0;

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
  }

  /**
   * Parses `chunk` up to `length` (a read buffer may be longer than the
   * read), calling the handler for every response it completes. Bytes it
   * must keep are copied: `chunk` may be reused once this returns.
   *
   * @throws HttpParseError on bytes that are not a response
   */
  feed(chunk: Buffer, length: number = chunk.length): void {
    let at = 0;
    while (at < length) {
      switch (this.#state) {
        case State.Head:
          at = this.#readHead(chunk, at, length);
          break;
        case State.Body: {
          const take = Math.min(this.#remaining, length - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#complete();
          break;
        }
        case State.BodyUntilClose:
          return;
        case State.ChunkSize: {
          const byte = chunk[at++];
          const digit = hexValue(byte);
          if (digit >= 0) {
            this.#chunkSize = this.#chunkSize * 16 + digit;
            if (this.#chunkSize > Number.MAX_SAFE_INTEGER / 16) {
              throw new HttpParseError('chunk size too large');
            }
          } else if (byte === CR || byte === 59 /* ; */ || byte === 32 || byte === 9) {
            this.#state = State.ChunkExtension;
          } else if (byte === LF) {
            this.#endChunkSize();
          } else {
            throw new HttpParseError(`unexpected byte ${byte} in a chunk size`);
          }
          break;
        }
        case State.ChunkExtension:
          if (chunk[at++] === LF) this.#endChunkSize();
          break;
        case State.ChunkData: {
          const take = Math.min(this.#remaining, length - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#remaining = 2;
            this.#state = State.ChunkDataEnd;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const byte = chunk[at++];
          if (byte !== (this.#remaining === 2 ? CR : LF)) {
            throw new HttpParseError('chunk data not followed by CRLF');
          }
          if (--this.#remaining === 0) this.#state = State.ChunkSize;
          break;
        }
        case State.TrailerLineStart: {
          const byte = chunk[at++];
          this.#state =
            byte === CR ? State.TrailerEnd : byte === LF ? State.Head : State.TrailerLine;
          if (byte === LF) this.#complete();
          break;
        }
        case State.TrailerLine:
          if (chunk[at++] === LF) this.#state = State.TrailerLineStart;
          break;
        case State.TrailerEnd:
          if (chunk[at++] !== LF) throw new HttpParseError('trailers not ended by CRLF');
          this.#complete();
          break;
      }
    }
  }

  /**
   * The connection ended. A response framed by the connection's end
   * completes here.
   *
   * @returns whether the end completed a response
   */
  end(): boolean {
    if (this.#state !== State.BodyUntilClose) return false;
    this.#complete();
    return true;
  }

  /**
   * Reads a status line and headers from `chunk[at, length)`; returns where
   * the body starts, or `length` when the head is not all there yet.
   */
  #readHead(chunk: Buffer, at: number, length: number): number {
    if (this.#partialHead === undefined) {
      const bodyStart = this.#parseHead(chunk, at, length);
      if (bodyStart !== -1) return bodyStart;
      this.#keepPartialHead(chunk.subarray(at, length));
      return length;
    }
    // Rare: the head came in pieces. Parse the pieces joined.
    const held = this.#partialHead.length;
    const joined = Buffer.concat([this.#partialHead, chunk.subarray(at, length)]);
    this.#partialHead = undefined;
    const bodyStart = this.#parseHead(joined, 0, joined.length);
    if (bodyStart !== -1) return at + bodyStart - held;
    this.#keepPartialHead(joined);
    return length;
  }

  #keepPartialHead(bytes: Buffer): void {
    if (bytes.length > MAX_HEAD_BYTES) {
      throw new HttpParseError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    }
    this.#partialHead = Buffer.from(bytes);
  }

  /**
   * Parses the status line and headers starting at `head[start]`, byte by
   * byte (no strings are made), and finding the blank line that ends them
   * on the way: one pass over the head. Returns where the body starts, or
   * -1 if the head does not end before `limit`; then nothing is changed.
   */
  #parseHead(head: Buffer, start: number, limit: number): number {
    let lineEnd = head.indexOf(CR, start);
    if (lineEnd === -1 || lineEnd + 1 >= limit) return -1;
    // "HTTP/1.1 200 OK": version, then the three status digits.
    if (lineEnd - start < 12 || !equalsLower(head, start, HTTP_1)) {
      throw new HttpParseError('response does not start with HTTP/1.');
    }
    const status = digitsValue(head, start + 9, start + 12);
    if (status < 100 || (start + 12 < lineEnd && head[start + 12] !== 32)) {
      throw new HttpParseError('malformed status line');
    }
    const http10 = head[start + 7] === 48; /* 0 */
    let contentLength = -1;
    let chunked = false;
    let closes = http10;
    let bodyStart: number;
    for (;;) {
      const lineStart = lineEnd + 2;
      if (lineStart + 1 >= limit) return -1;
      if (head[lineStart] === CR) {
        bodyStart = lineStart + 2;
        break;
      }
      lineEnd = head.indexOf(CR, lineStart);
      // The buffer may hold stale bytes past `limit`: a CR there does not count.
      if (lineEnd === -1 || lineEnd + 1 >= limit) return -1;
      // Header names are short: a scan in JS beats a call into Buffer#indexOf.
      const colon = indexOfByte(head, 58 /* : */, lineStart, lineEnd);
      // Only the three framing headers matter; their names differ in length.
      const nameLength = colon - lineStart;
      if (nameLength !== 14 && nameLength !== 17 && nameLength !== 10) continue;
      let valueStart = colon + 1;
      let valueEnd = lineEnd;
      while (valueStart < valueEnd && isBlank(head[valueStart])) valueStart++;
      while (valueEnd > valueStart && isBlank(head[valueEnd - 1])) valueEnd--;
      if (equalsLower(head, lineStart, CONTENT_LENGTH)) {
        contentLength = digitsValue(head, valueStart, valueEnd);
        if (contentLength < 0) throw new HttpParseError('malformed Content-Length');
      } else if (equalsLower(head, lineStart, TRANSFER_ENCODING)) {
        chunked =
          valueEnd - valueStart >= CHUNKED.length &&
          equalsLower(head, valueEnd - CHUNKED.length, CHUNKED);
      } else if (equalsLower(head, lineStart, CONNECTION)) {
        if (containsLower(head, valueStart, valueEnd, CLOSE)) closes = true;
        else if (http10 && containsLower(head, valueStart, valueEnd, KEEP_ALIVE)) closes = false;
      }
    }
    if (status < 200) {
      // 1xx: an interim response; the real one follows.
      return bodyStart;
    }
    this.#status = status;
    this.#closes = closes;
    const noBody = this.#handler.expectsNoBody() || status === 204 || status === 304;
    if (noBody || (!chunked && contentLength === 0)) {
      this.#complete();
    } else if (chunked) {
      this.#chunkSize = 0;
      this.#state = State.ChunkSize;
    } else if (contentLength > 0) {
      this.#remaining = contentLength;
      this.#state = State.Body;
    } else {
      this.#closes = true;
      this.#state = State.BodyUntilClose;
    }
    return bodyStart;
  }

  #endChunkSize(): void {
    if (this.#chunkSize === 0) {
      this.#state = State.TrailerLineStart;
    } else {
      this.#remaining = this.#chunkSize;
      this.#chunkSize = 0;
      this.#state = State.ChunkData;
    }
  }

  #complete(): void {
    this.#state = State.Head;
    this.#handler.onResponse(this.#status, this.#closes);
  }
}

/** Where `bytes[from, to)` first holds `byte`, or `to`. */
function indexOfByte(bytes: Buffer, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (bytes[i] === byte) return i;
  return to;
}

/** The decimal number in `bytes[start, end)`, or -1 if it is empty or not all digits. */
function digitsValue(bytes: Buffer, start: number, end: number): number {
  if (start >= end) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i] - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function isBlank(byte: number): boolean {
  return byte === 32 || byte === 9;
}

/** Whether `bytes` at `at` hold `lower` in any case (`lower` is lowercase ASCII). */
function equalsLower(bytes: Buffer, at: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((bytes[at + i] | 0x20) !== lower[i]) return false;
  }
  return true;
}

/** Whether `bytes[start, end)` contains `lower` in any case. */
function containsLower(bytes: Buffer, start: number, end: number, lower: Uint8Array): boolean {
  for (let at = start; at + lower.length <= end; at++) {
    if (equalsLower(bytes, at, lower)) return true;
  }
  return false;
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}
