import fc from 'fast-check';
import type { Codec } from '@medals/core';
import { DecodeError, JsonCodec, SuperjsonCodec } from '@medals/core';
import { bytes, expectDecodeError, expectPrototypeUntouched, FORBIDDEN_KEYS } from './helpers';

/** Wraps a JSON value the way each codec expects it on the wire. */
const wire: Record<string, (json: string) => string> = {
  json: (json) => json,
  superjson: (json) => `{"json":${json}}`,
};

describe.each([
  ['JsonCodec', (maxBytes?: number): Codec => new JsonCodec({ maxBytes })],
  ['SuperjsonCodec', (maxBytes?: number): Codec => new SuperjsonCodec({ maxBytes })],
])('%s decoding untrusted bytes', (_, make) => {
  const codec = make();
  const wrap = wire[codec.name] as (json: string) => string;
  const decodeText = (json: string): unknown => codec.decode(bytes(wrap(json)));

  afterEach(expectPrototypeUntouched);

  it('accepts input of exactly maxBytes and refuses one byte more before parsing it', () => {
    const text = wrap('"abc"');
    const exact = make(text.length);
    expect(exact.decode(bytes(text))).toBe('abc');
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expectDecodeError(() => exact.decode(bytes(`${text} `)), /exceeds the limit of/);
      // Oversized garbage is refused for its size, not for being garbage.
      expectDecodeError(
        () => exact.decode(new Uint8Array(text.length + 1).fill(0xff)),
        /exceeds the limit/,
      );
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('refuses input that is not a byte array', () => {
    expectDecodeError(
      () => codec.decode('{"json":1}' as unknown as Uint8Array),
      /expected a Uint8Array, got string/,
    );
    expectDecodeError(() => codec.decode(null as unknown as Uint8Array), /got null/);
  });

  it('accepts a Buffer', () => {
    expect(codec.decode(Buffer.from(wrap('[1]')))).toEqual([1]);
  });

  it.each([
    ['a stray continuation byte', [0x80]],
    ['an invalid byte', [0xff]],
    ['an overlong encoding', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
  ])('refuses invalid UTF-8: %s', (_, bad) => {
    const [head, tail] = wrap('"x"').split('x') as [string, string];
    const input = Uint8Array.from([...bytes(head), ...bad, ...bytes(tail)]);
    const err = expectDecodeError(() => codec.decode(input), /not valid UTF-8/);
    // By name: TextDecoder's errors come from Node's realm, not the test's.
    expect((err.cause as Error).name).toBe('TypeError');
  });

  it.each(['', '{', '{"a":1,}', "{'a':1}", 'undefined', 'NaN', '[1] [2]', '{"a":01}'])(
    'refuses malformed JSON %p, with the parser error as cause',
    (text) => {
      const err = expectDecodeError(() => codec.decode(bytes(wrap(text))), /not valid JSON/);
      expect(err.cause).toBeInstanceOf(SyntaxError);
    },
  );

  it.each([
    ['at the top', '{"__proto__":{"polluted":true}}', /forbidden key at \$(\.json)?\.__proto__/],
    [
      'deep inside arrays',
      '{"a":[1,{"b":[{"constructor":{"prototype":{"polluted":1}}}]}]}',
      /\.a\[1\]\.b\[0\]\.constructor/,
    ],
    [
      'spelled with escapes',
      '{"a":{"__pro\\u0074o__":{"polluted":1}}}',
      /forbidden key at .*\.a\.__proto__/,
    ],
    [
      'spelled entirely in escapes',
      '{"\\u0070\\u0072\\u006f\\u0074\\u006f\\u0074\\u0079\\u0070\\u0065":1}',
      /prototype/,
    ],
    ['spelled with an escape in constructor', '[{"\\u0063onstructor":{}}]', /constructor/],
    [
      'next to harmless keys',
      '{"proto":1,"__proto":2,"prototypes":3,"x":{"prototype":4}}',
      /\.x\.prototype/,
    ],
  ])('refuses a forbidden key %s', (_, text, message) => {
    expectDecodeError(() => decodeText(text), message);
  });

  it('accepts the forbidden words as values and as parts of keys', () => {
    expect(
      decodeText('{"proto":"__proto__","my_constructor":["prototype"],"k":"\\u0041"}'),
    ).toEqual({
      proto: '__proto__',
      my_constructor: ['prototype'],
      k: 'A',
    });
  });

  it('walks input nested far deeper than the call stack allows', () => {
    const depth = 200_000;
    const nested = `${'['.repeat(depth)}{"\\u005f_proto__":1}${']'.repeat(depth)}`;
    expectDecodeError(() => decodeText(nested), /forbidden key/);
  });

  it('either decodes arbitrary bytes or throws DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          codec.decode(input);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('either decodes arbitrary JSON-looking text or throws DecodeError', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\u',
      '"__proto__"',
      '"constructor"',
      '"prototype"',
      '"json"',
      '"meta"',
      '"values"',
      '"v"',
      '1',
      'null',
      '"a"',
      '["map"]',
      '"Date"',
      '"custom"',
      '"Uint8Array"',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
        try {
          codec.decode(bytes(tokens.join('')));
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a forbidden key placed at any depth of any JSON value', () => {
    const withForbiddenKey = fc
      .tuple(
        fc.jsonValue({ maxDepth: 4 }),
        fc.constantFrom(...FORBIDDEN_KEYS),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
      )
      .map(([value, key, choices, escape]) => {
        const spelled = escape
          ? `\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${key.slice(1)}`
          : key;
        return plant(JSON.stringify(value), `{"${spelled}":{"polluted":1}}`, choices);
      });
    fc.assert(
      fc.property(withForbiddenKey, (text) => {
        expectDecodeError(() => decodeText(text), /forbidden key/);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Puts `bad` somewhere inside the JSON text of a value: descends by
 * `choices` through arrays and objects and replaces the value it stops at.
 */
function plant(json: string, bad: string, choices: number[]): string {
  const value: unknown = JSON.parse(json);
  const marker = '\u0000planted\u0000';
  const replace = (node: unknown, depth: number): unknown => {
    const choice = choices[depth];
    if (choice === undefined || typeof node !== 'object' || node === null) return marker;
    if (Array.isArray(node)) {
      if (node.length === 0) return marker;
      const i = choice % node.length;
      return node.map((item, j) => (j === i ? replace(item, depth + 1) : item));
    }
    const keys = Object.keys(node);
    if (keys.length === 0) return marker;
    const key = keys[choice % keys.length] as string;
    return { ...node, [key]: replace((node as Record<string, unknown>)[key], depth + 1) };
  };
  return JSON.stringify(replace(value, 0)).replace(JSON.stringify(marker), bad);
}
