/**
 * One request of a workload, as a user writes it. It is serialised once,
 * when a worker starts, into the bytes the worker writes to its sockets.
 */
export interface RequestSpec {
  /** HTTP method, e.g. `GET` or `PUT`. */
  readonly method: string;
  /** Request target, starting with `/`, already percent-encoded where it must be. */
  readonly path: string;
  /**
   * Header fields. `Host` is added from the target URL unless given, and
   * `Content-Length` from the body; `Connection` is left out, so the
   * connection stays open (HTTP/1.1's default).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Body, sent with a `Content-Length`. A string is sent as UTF-8. */
  readonly body?: string | Uint8Array;
}

/**
 * A placeholder for a value unique to each request, such as an
 * `Idempotency-Key`. Put it anywhere in a request's path, header values or
 * body; every occurrence is overwritten in place before each send with an
 * id of the same width (24 characters of `[0-9a-z]`: a run's nonce, the
 * worker's number, then a per-worker counter), so the request is built once
 * and `Content-Length` never changes.
 */
export const UNIQUE_ID = '@@loadgen-unique-id-24@@';

/** Characters of {@link UNIQUE_ID} that hold the per-worker counter, in decimal. */
const COUNTER_DIGITS = 16;
/** Characters before the counter: the run's nonce and the worker's number. */
export const UNIQUE_ID_PREFIX_LENGTH = UNIQUE_ID.length - COUNTER_DIGITS;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const ID_PREFIX = /^[0-9a-z]+$/;
const PLACEHOLDER = Buffer.from(UNIQUE_ID, 'latin1');

/**
 * Checks a request spec and throws a `TypeError` saying what is wrong with
 * it, so a bad workload fails before any worker starts.
 */
export function validateRequestSpec(spec: RequestSpec, where: string): void {
  if (typeof spec.method !== 'string' || !TOKEN.test(spec.method)) {
    throw new TypeError(`${where}: method must be an HTTP token such as GET, got ${spec.method}`);
  }
  if (typeof spec.path !== 'string' || !REQUEST_TARGET.test(spec.path)) {
    throw new TypeError(
      `${where}: path must start with / and hold visible ASCII only (percent-encode the rest)`,
    );
  }
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    if (!TOKEN.test(name)) throw new TypeError(`${where}: header name ${name} is not a token`);
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
      // The value may be a secret: name the header only.
      throw new TypeError(`${where}: header ${name} must be a string without CR, LF or NUL`);
    }
    if (name.toLowerCase() === 'content-length' || name.toLowerCase() === 'transfer-encoding') {
      throw new TypeError(`${where}: header ${name} is set from the body, leave it out`);
    }
  }
  if (
    spec.body !== undefined &&
    typeof spec.body !== 'string' &&
    !(spec.body instanceof Uint8Array)
  ) {
    throw new TypeError(`${where}: body must be a string or a Uint8Array`);
  }
}

/** Methods whose requests carry `Content-Length: 0` when they have no body. */
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A request serialised once into the bytes a worker writes, with the
 * offsets of its {@link UNIQUE_ID} placeholders so each send only rewrites
 * the counter digits there.
 */
export class RequestTemplate {
  #bytes: Buffer;
  /** Offsets of the counter digits of each placeholder occurrence. */
  readonly #counterOffsets: number[];
  /** True for HEAD: its response has headers only, whatever they say. */
  readonly expectsNoBody: boolean;

  /**
   * @param spec the request, checked with {@link validateRequestSpec}
   * @param host the `Host` header's value when the spec has none
   * @param idPrefix the run's nonce and worker number, {@link UNIQUE_ID_PREFIX_LENGTH} characters of `[0-9a-z]`
   */
  constructor(spec: RequestSpec, host: string, idPrefix: string) {
    if (idPrefix.length !== UNIQUE_ID_PREFIX_LENGTH || !ID_PREFIX.test(idPrefix)) {
      throw new TypeError(
        `idPrefix must be ${UNIQUE_ID_PREFIX_LENGTH} characters of [0-9a-z], got ${idPrefix}`,
      );
    }
    const method = spec.method.toUpperCase();
    const body =
      spec.body === undefined
        ? undefined
        : typeof spec.body === 'string'
          ? Buffer.from(spec.body, 'utf8')
          : Buffer.from(spec.body);
    const lines = [`${method} ${spec.path} HTTP/1.1`];
    const headers = spec.headers ?? {};
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) {
      lines.push(`Host: ${host}`);
    }
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (body !== undefined || METHODS_WITH_BODY.has(method)) {
      lines.push(`Content-Length: ${body?.length ?? 0}`);
    }
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    this.#bytes = body === undefined ? head : Buffer.concat([head, body]);
    this.#counterOffsets = [];
    for (
      let at = this.#bytes.indexOf(PLACEHOLDER);
      at !== -1;
      at = this.#bytes.indexOf(PLACEHOLDER, at + PLACEHOLDER.length)
    ) {
      this.#bytes.write(idPrefix, at, 'latin1');
      this.#counterOffsets.push(at + UNIQUE_ID_PREFIX_LENGTH);
    }
    this.expectsNoBody = method === 'HEAD';
  }

  /** Whether the request holds a {@link UNIQUE_ID}, so its bytes change per send. */
  get varies(): boolean {
    return this.#counterOffsets.length > 0;
  }

  /**
   * The bytes to send as request number `counter` of this worker: the same
   * buffer every time, its unique ids rewritten in place.
   */
  bytes(counter: number): Buffer {
    const bytes = this.#bytes;
    for (const offset of this.#counterOffsets) {
      let rest = counter;
      for (let i = offset + COUNTER_DIGITS - 1; i >= offset; i--) {
        bytes[i] = 48 + (rest % 10);
        rest = Math.floor(rest / 10);
      }
    }
    return bytes;
  }

  /**
   * Called when the socket kept the last bytes queued instead of writing
   * them at once: the next send must not rewrite a buffer still waiting to
   * go out, so the template moves to a copy.
   */
  detach(): void {
    if (this.varies) this.#bytes = Buffer.from(this.#bytes);
  }
}
