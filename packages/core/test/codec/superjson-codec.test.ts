import fc from 'fast-check';
import SuperJSON from 'superjson';
import type { SuperJSONValue } from 'superjson';
import { SuperjsonCodec } from '@medals/core';
import { registerUint8ArrayTransformer } from '../../src/codec/uint8array-transformer';
import {
  bytes,
  expectEncodeError,
  holdsForbiddenKey,
  holdsInvalidDate,
  sparseArray,
} from './helpers';

const codec = new SuperjsonCodec();

/** Any nesting of the types SuperjsonCodec carries. */
const richValue = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  stringUnit: 'grapheme',
  key: fc.oneof(fc.string(), fc.constantFrom('a.b', 'c\\d', '.', '\\.', '')),
  values: [
    fc.string(),
    fc.double(),
    fc.bigInt(),
    fc.constantFrom(undefined, null, -0, NaN, Infinity, -Infinity),
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom(/a.b/g, /[\\/]+/imsuy, new URL('https://example.org/x?y#z')),
    fc.string().map((message) => new Error(message, { cause: message.length })),
  ],
});
const roundTrip = (value: unknown): unknown => codec.decode(codec.encode(value));
const text = (value: unknown): string => Buffer.from(codec.encode(value)).toString('utf8');

describe('SuperjsonCodec', () => {
  it('is named superjson and defaults to a 16 MiB limit', () => {
    expect(codec.name).toBe('superjson');
    expect(codec.maxBytes).toBe(16 * 1024 * 1024);
    expect(new SuperjsonCodec({ maxBytes: 64 }).maxBytes).toBe(64);
  });

  it.each([
    ['a Date', new Date('2024-07-26T19:30:00.123Z')],
    [
      'a Map',
      new Map<unknown, unknown>([
        ['a', 1],
        [{ k: 1 }, [2]],
      ]),
    ],
    ['a Set', new Set([1, 'two', { three: 3 }])],
    ['a bigint', 123456789012345678901234567890n],
    ['a negative bigint', -42n],
    ['undefined at the top', undefined],
    ['an undefined property', { a: undefined, b: 1 }],
    ['undefined in an array', [undefined, 1]],
    ['a RegExp with flags', /^a+(b|c)\/d$/giu],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-0', -0],
    ['a URL', new URL('https://example.org/a?b=c#d')],
    ['a Uint8Array', new Uint8Array([0, 1, 127, 128, 255])],
    ['an empty Uint8Array', new Uint8Array(0)],
    ['plain JSON', { a: [1, 'x', null, true, { b: {} }] }],
    [
      'nested structures',
      {
        when: new Date(0),
        scores: new Map<string, unknown>([
          ['Gaul', new Set([1n, -0, NaN])],
          ['Rome', { at: [new Date(1), undefined, /x/] }],
        ]),
        blob: new Uint8Array([1, 2, 3]),
        deep: [[[new Map([[new Date(2), new Set([Infinity])]])]]],
      },
    ],
  ])('round-trips %s', (_, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('keeps the sign of -0 and undefined properties exactly', () => {
    const decoded = roundTrip({ z: -0, u: undefined }) as { z: number; u: undefined };
    expect(Object.is(decoded.z, -0)).toBe(true);
    expect(Object.hasOwn(decoded, 'u')).toBe(true);
  });

  it('round-trips an Error with its name, message and cause, without the stack', () => {
    const err = new TypeError('bad', { cause: { code: 7, at: new Date(5) } });
    const decoded = roundTrip({ err }) as { err: Error };
    expect(decoded.err).toBeInstanceOf(Error);
    expect(decoded.err.name).toBe('TypeError');
    expect(decoded.err.message).toBe('bad');
    expect(decoded.err.cause).toStrictEqual({ code: 7, at: new Date(5) });
    expect(decoded.err.stack).toBeUndefined();
  });

  it('carries a Buffer, or a view into a larger buffer, as exactly its own bytes', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(roundTrip(backing.subarray(2, 5))).toStrictEqual(new Uint8Array([1, 2, 3]));
    const decoded = roundTrip(Buffer.from('hello'));
    expect(decoded).toStrictEqual(new Uint8Array(Buffer.from('hello')));
    expect((decoded as Uint8Array).buffer.byteLength).toBe(5);
  });

  it('writes binary as base64 text', () => {
    expect(text(new Uint8Array([1, 2, 3]))).toBe(
      '{"json":"AQID","meta":{"values":[["custom","Uint8Array"]],"v":1}}',
    );
  });

  it('writes plain JSON exactly as superjson does, without meta', () => {
    const value = { a: [1, 'x', null, true, { b: 2.5 }], c: 'é' };
    expect(text(value)).toBe(new SuperJSON().stringify(value));
    expect(text(value)).toBe(`{"json":${JSON.stringify(value)}}`);
  });

  it('reads what a stock superjson instance writes', () => {
    const value = { at: new Date(3), tags: new Set(['a']), n: 5n, m: new Map([[1, undefined]]) };
    expect(codec.decode(bytes(new SuperJSON().stringify(value)))).toStrictEqual(value);
  });

  it('writes shared references as copies, without shared-reference annotations', () => {
    const shared = { at: new Date(7) };
    const encoded = text({ a: shared, b: shared });
    expect(encoded).not.toContain('referentialEqualities');
    const decoded = codec.decode(bytes(encoded)) as { a: object; b: object };
    expect(decoded).toStrictEqual({ a: { at: new Date(7) }, b: { at: new Date(7) } });
    expect(decoded.a).not.toBe(decoded.b);
  });

  it('uses its own superjson instance and leaves the global one alone', () => {
    new SuperjsonCodec();
    expect(SuperJSON.serialize(new Uint8Array([1])).meta?.values).toEqual([
      ['typed-array', 'Uint8Array'],
    ]);
    SuperJSON.registerCustom<Uint8Array, string>(
      {
        isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
        serialize: () => 'hijacked',
        deserialize: () => new Uint8Array(),
      },
      'Uint8Array',
    );
    expect(roundTrip(new Uint8Array([4, 5]))).toStrictEqual(new Uint8Array([4, 5]));
  });

  it.each([
    ['a function', { f: () => 1 }, /a function cannot be encoded, at \$\.f/],
    ['a symbol', [Symbol('s')], /a symbol cannot be encoded, at \$\[0\]/],
    ['an invalid Date', { d: new Date(NaN) }, /invalid Date/],
    ['a sparse array', sparseArray(), /sparse array/],
    ['a Float64Array', new Float64Array([1]), /an instance of Float64Array cannot be encoded/],
    ['an ArrayBuffer', new ArrayBuffer(1), /ArrayBuffer/],
    [
      'a class instance',
      { p: new (class Point {})() },
      /an instance of Point cannot be encoded, at \$\.p/,
    ],
    ['a function inside a Map', new Map([['k', () => 1]]), /function.*map value 0/],
    ['a symbol inside a Set', new Set([Symbol('s')]), /symbol.*set item 0/],
    ['a __proto__ key', { ['__proto__']: { polluted: 1 } }, /key __proto__/],
    [
      'a constructor key inside a Map value',
      new Map([['k', { constructor: 1 }]]),
      /key constructor/,
    ],
    ['a prototype key', { a: [{ prototype: 1 }] }, /key prototype/],
  ])('refuses %s with EncodeError', (_, value, message) => {
    expectEncodeError(() => codec.encode(value), message);
  });

  it('refuses cycles through objects, Maps, Sets and Error causes', () => {
    const object: Record<string, unknown> = {};
    object['self'] = object;
    const map = new Map<string, unknown>();
    map.set('self', map);
    const set = new Set<unknown>();
    set.add({ inner: set });
    const err = new Error('loop');
    err.cause = { err };
    for (const value of [object, map, set, err])
      expectEncodeError(() => codec.encode(value), /cycle/);
  });

  it('refuses to encode more than maxBytes', () => {
    const small = new SuperjsonCodec({ maxBytes: 16 });
    expect(small.encode('12345')).toHaveLength(16);
    expectEncodeError(() => small.encode('123456'), /17 bytes exceeds the limit of 16 bytes/);
  });

  it('round-trips any JSON value exactly, -0 included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        if (holdsForbiddenKey(value)) expectEncodeError(() => codec.encode(value), /key/);
        else expect(roundTrip(value)).toStrictEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any mix of the supported types', () => {
    fc.assert(
      fc.property(richValue, (v) => {
        if (holdsForbiddenKey(v) || holdsInvalidDate(v)) expectEncodeError(() => codec.encode(v));
        else expect(roundTrip(v)).toStrictEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('writes exactly what superjson writes, minus shared-reference annotations', () => {
    const reference = new SuperJSON();
    registerUint8ArrayTransformer(reference);
    fc.assert(
      fc.property(richValue, (v) => {
        fc.pre(!holdsForbiddenKey(v) && !holdsInvalidDate(v));
        const { json, meta } = reference.serialize(v as SuperJSONValue);
        const expected =
          meta?.values === undefined
            ? { json }
            : { json, meta: { values: meta.values, v: meta.v } };
        expect(text(v)).toBe(JSON.stringify(expected));
      }),
      { numRuns: 300 },
    );
  });
});
