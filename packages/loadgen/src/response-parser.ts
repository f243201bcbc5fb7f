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
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
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

  /** Whether the parser is between responses (nothing partial held). */
  get idle(): boolean {
    return this.#state === State.Head && this.#partialHead === undefined;
  }

  /**
   * Parses `chunk`, calling the handler for every response it completes.
   *
   * @throws HttpParseError on bytes that are not a response
   */
  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.#state) {
        case State.Head:
          at = this.#readHead(chunk, at);
          break;
        case State.Body: {
          const take = Math.min(this.#remaining, chunk.length - at);
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
          const take = Math.min(this.#remaining, chunk.length - at);
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

  /** Reads a status line and headers from `chunk` at `at`; returns where the body starts. */
  #readHead(chunk: Buffer, at: number): number {
    let head: Buffer;
    let headEnd: number;
    let consumed: number;
    if (this.#partialHead === undefined) {
      const end = chunk.indexOf(HEAD_END, at);
      if (end === -1) {
        this.#keepPartialHead(chunk.subarray(at));
        return chunk.length;
      }
      head = chunk;
      headEnd = end;
      consumed = end + HEAD_END.length;
    } else {
      // Rare: the head came in pieces. Search the joined bytes, but only
      // as far as this chunk reaches.
      const held = this.#partialHead.length;
      head = Buffer.concat([this.#partialHead, chunk.subarray(at)]);
      const end = head.indexOf(HEAD_END, Math.max(0, held - 3));
      if (end === -1) {
        this.#partialHead = undefined;
        this.#keepPartialHead(head);
        return chunk.length;
      }
      this.#partialHead = undefined;
      headEnd = end;
      consumed = at + end + HEAD_END.length - held;
      at = 0;
    }
    this.#parseHead(head.toString('latin1', at, headEnd));
    return consumed;
  }

  #keepPartialHead(bytes: Buffer): void {
    const joined = this.#partialHead
      ? Buffer.concat([this.#partialHead, bytes])
      : Buffer.from(bytes);
    if (joined.length > MAX_HEAD_BYTES) {
      throw new HttpParseError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    }
    this.#partialHead = joined;
  }

  #parseHead(head: string): void {
    // "HTTP/1.1 200 OK": version, then the three status digits.
    if (!head.startsWith('HTTP/1.'))
      throw new HttpParseError('response does not start with HTTP/1.');
    const status = Number(head.slice(9, 12));
    if (!Number.isInteger(status) || status < 100 || head.charCodeAt(12) > 32) {
      throw new HttpParseError('malformed status line');
    }
    const http10 = head.charCodeAt(7) === 48; /* 0 */
    let contentLength = -1;
    let chunked = false;
    let connection = '';
    let lineStart = head.indexOf('\r\n');
    while (lineStart !== -1) {
      const nameStart = lineStart + 2;
      const lineEnd = head.indexOf('\r\n', nameStart);
      const line = head.slice(nameStart, lineEnd === -1 ? head.length : lineEnd);
      lineStart = lineEnd;
      const colon = line.indexOf(':');
      // Only the three framing headers matter; their names differ in length.
      if (colon === 14 || colon === 17 || colon === 10) {
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'content-length') {
          if (!/^\d+$/.test(value)) throw new HttpParseError('malformed Content-Length');
          contentLength = Number(value);
        } else if (name === 'transfer-encoding') {
          chunked = value.toLowerCase().endsWith('chunked');
        } else if (name === 'connection') {
          connection = value.toLowerCase();
        }
      }
    }
    if (status < 200) {
      // 1xx: an interim response; the real one follows.
      return;
    }
    this.#status = status;
    this.#closes = http10 ? !connection.includes('keep-alive') : connection.includes('close');
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

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}
