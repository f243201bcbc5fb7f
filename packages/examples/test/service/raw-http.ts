import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/** An answer as the tests look at it. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** Sends exactly the method, target, headers and body given: no encoding, no checks. */
export function raw(
  baseUrl: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Left as text: the test will say what it expected.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}
