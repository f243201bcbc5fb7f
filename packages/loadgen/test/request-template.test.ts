import { RequestTemplate, UNIQUE_ID, validateRequestSpec } from '../src/request-template';
import type { RequestSpec } from '../src/request-template';

const PREFIX = 'abc12300';

describe('RequestTemplate', () => {
  it('serialises method, path, Host, headers and a body with its Content-Length', () => {
    const template = new RequestTemplate(
      { method: 'put', path: '/incrementMedalTally/Gaul/gold', headers: { 'x-a': 'b' }, body: 'é' },
      '127.0.0.1:8080',
      PREFIX,
    );
    expect(template.bytes(0).toString('utf8')).toBe(
      'PUT /incrementMedalTally/Gaul/gold HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nx-a: b\r\n' +
        'Content-Length: 2\r\n\r\né',
    );
    expect(template.varies).toBe(false);
  });

  it('writes a unique id of the same width wherever the placeholder is, per request, in place', () => {
    const template = new RequestTemplate(
      {
        method: 'POST',
        path: `/op/${UNIQUE_ID}`,
        headers: { 'idempotency-key': UNIQUE_ID },
        body: `{"id":"${UNIQUE_ID}"}`,
      },
      'h',
      PREFIX,
    );
    const first = template.bytes(7).toString('latin1');
    const ids = first.match(/abc12300\d{16}/g);
    expect(ids).toEqual(Array(3).fill('abc123000000000000000007'));
    expect(first).toContain(`Content-Length: ${`{"id":"${UNIQUE_ID}"}`.length}\r\n`);
    const second = template.bytes(123456789).toString('latin1');
    expect(second.match(/abc12300\d{16}/g)).toEqual(Array(3).fill('abc123000000000123456789'));
    expect(second.length).toBe(first.length);
  });

  it('moves to a copy when the socket kept the last bytes, so they are not rewritten while queued', () => {
    const template = new RequestTemplate({ method: 'GET', path: `/k/${UNIQUE_ID}` }, 'h', PREFIX);
    const queued = template.bytes(1);
    const before = queued.toString('latin1');
    template.detach();
    template.bytes(2);
    expect(queued.toString('latin1')).toBe(before);
  });

  it('refuses what would break the request line or the headers', () => {
    const bad: RequestSpec[] = [
      { method: 'GE T', path: '/' },
      { method: 'GET', path: 'no-slash' },
      { method: 'GET', path: '/a b' },
      { method: 'GET', path: '/', headers: { 'x-a': 'one\r\nx-b: two' } },
      { method: 'GET', path: '/', headers: { 'bad name': 'v' } },
      { method: 'GET', path: '/', headers: { 'content-length': '3' } },
    ];
    for (const spec of bad) expect(() => validateRequestSpec(spec, 'r')).toThrow(TypeError);
  });

  it('names the header, never its value, when a header value is refused', () => {
    const secret = 'Bearer s3cret\n';
    expect(() =>
      validateRequestSpec({ method: 'GET', path: '/', headers: { authorization: secret } }, 'r'),
    ).toThrow(/authorization/);
    expect(() =>
      validateRequestSpec({ method: 'GET', path: '/', headers: { authorization: secret } }, 'r'),
    ).not.toThrow(/s3cret/);
  });
});
