import { request } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { derivePairKey } from '@medals/core';
import { HEADER, REQUEST_PATH } from '../../src/constants';
import { signFields } from '../../src/auth';

/** An answer to a raw request: its status and its body, parsed when it is JSON. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json?: { error: string; name: string; code?: string };
}

/** A hand-made HTTP exchange, as a client other than HttpTransport would make it. */
export interface RawRequest {
  method?: string;
  path?: string;
  headers: OutgoingHttpHeaders;
  body?: Uint8Array;
  /** Writes the body in chunks without a content-length. */
  chunked?: boolean;
}

/** Sends one request on its own connection (no agent, so nothing lingers). */
export function rawRequest(address: string, raw: RawRequest): Promise<RawAnswer> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const body = raw.body ?? new Uint8Array(0);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: raw.method ?? 'POST',
        path: raw.path ?? REQUEST_PATH,
        agent: false,
        headers: raw.chunked ? raw.headers : { ...raw.headers, 'content-length': body.byteLength },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const answer: RawAnswer = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          };
          if (String(res.headers['content-type']).startsWith('application/json')) {
            answer.json = JSON.parse(answer.body.toString('utf8')) as RawAnswer['json'];
          }
          resolve(answer);
        });
      },
    );
    req.on('error', reject);
    if (raw.chunked) {
      for (let offset = 0; offset < body.byteLength; offset += 16 * 1024)
        req.write(body.subarray(offset, offset + 16 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

/**
 * The headers of a message from `from` to `to`, signed as of `timestamp`
 * when a key is given: `key` itself, or the pair key derived from `secret`.
 */
export function messageHeaders(options: {
  type: string;
  from: string;
  to: string;
  body: Uint8Array;
  secret?: string;
  key?: Uint8Array;
  timestamp?: number;
  nonce?: string;
  path?: string;
}): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    [HEADER.type]: encodeURIComponent(options.type),
    [HEADER.from]: encodeURIComponent(options.from),
    [HEADER.to]: encodeURIComponent(options.to),
  };
  const key =
    options.key ??
    (options.secret === undefined
      ? undefined
      : derivePairKey(options.secret, options.from, options.to));
  if (key !== undefined) {
    const timestamp = String(options.timestamp ?? Date.now());
    const nonce = options.nonce ?? 'raw-test';
    headers[HEADER.timestamp] = timestamp;
    headers[HEADER.nonce] = nonce;
    headers[HEADER.signature] = signFields(key, {
      method: 'POST',
      path: options.path ?? REQUEST_PATH,
      type: headers[HEADER.type] as string,
      from: headers[HEADER.from] as string,
      to: headers[HEADER.to] as string,
      timestamp,
      nonce,
      body: options.body,
    });
  }
  return headers;
}
