import fc from 'fast-check';
import { DEFAULT_MAX_BYTES, JsonCodec } from '@medals/core';
import { expectEncodeError, holdsForbiddenKey, withoutNegativeZero, sparseArray } from './helpers';

const codec = new JsonCodec();
const roundTrip = (value: unknown): unknown => codec.decode(codec.encode(value));

describe('JsonCodec', () => {
  it('is named json and defaults to a 16 MiB limit', () => {
    expect(codec.name).toBe('json');
    expect(codec.maxBytes).toBe(16 * 1024 * 1024);
    expect(DEFAULT_MAX_BYTES).toBe(16 * 1024 * 1024);
    expect(new JsonCodec({ maxBytes: 100 }).maxBytes).toBe(100);
  });

  it('refuses a maxBytes that is not a positive integer', () => {
    expect(() => new JsonCodec({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => new JsonCodec({ maxBytes: 1.5 })).toThrow(RangeError);
  });

  it('writes UTF-8 JSON text', () => {
    expect(Buffer.from(codec.encode({ a: [1, 'é'] })).toString('utf8')).toBe('{"a":[1,"é"]}');
  });

  it.each([
    ['a string', 'héllo \u{1F600} "quoted" \n'],
    ['a lone surrogate', '\ud800'],
    ['an integer', 42],
    ['a float', -1.5e-300],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an empty array', []],
    ['an empty object', {}],
    ['nested structures', { a: [1, { b: [null, 'x', { c: {} }] }], d: { e: { f: 'g' } } }],
    ['an object with a null prototype', Object.assign(Object.create(null) as object, { a: 1 })],
  ])('round-trips %s', (_, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it('writes shared references once per place they appear', () => {
    const shared = { x: 1 };
    const decoded = roundTrip({ a: shared, b: shared }) as { a: object; b: object };
    expect(decoded).toEqual({ a: { x: 1 }, b: { x: 1 } });
    expect(decoded.a).not.toBe(decoded.b);
  });

  it('leaves out object properties that are undefined, as JSON.stringify does', () => {
    expect(roundTrip({ a: 1, b: undefined })).toStrictEqual({ a: 1 });
  });

  it('writes -0 as 0', () => {
    expect(Object.is(roundTrip(-0), 0)).toBe(true);
  });

  it.each([
    ['a bigint', 1n, /bigint has no JSON representation/],
    ['NaN', NaN, /NaN has no JSON representation/],
    ['Infinity', { a: [Infinity] }, /Infinity has no JSON representation, at \$\.a\[0\]/],
    ['a function property', { a: { f: () => 1 } }, /a function cannot be encoded, at \$\.a\.f/],
    ['a function in an array', [() => 1], /function/],
    ['a symbol', { s: Symbol('x') }, /a symbol cannot be encoded/],
    ['undefined at the top', undefined, /undefined has no JSON representation/],
    ['undefined in an array', [1, undefined], /undefined has no JSON representation, at \$\[1\]/],
    ['a sparse array', sparseArray(), /sparse array/],
    ['a Date', { at: new Date(0) }, /an instance of Date has no JSON representation, at \$\.at/],
    ['a Map', new Map([[1, 2]]), /Map/],
    ['a Set', new Set([1]), /Set/],
    ['a Uint8Array', new Uint8Array([1]), /Uint8Array/],
    ['a class instance', new (class Point {})(), /an instance of Point/],
    ['a __proto__ key', { a: { ['__proto__']: { polluted: 1 } } }, /key __proto__ .*at \$\.a/],
    ['a constructor key', { constructor: 1 }, /key constructor/],
    ['a prototype key', [{ prototype: 1 }], /key prototype/],
  ])('refuses %s with EncodeError', (_, value, message) => {
    expectEncodeError(() => codec.encode(value), message);
  });

  it('refuses cycles, and tells where they close', () => {
    const a: Record<string, unknown> = { b: {} };
    (a['b'] as Record<string, unknown>)['back'] = a;
    expectEncodeError(() => codec.encode(a), /cycle.*at \$\.b\.back/);
    const list: unknown[] = [];
    list.push(list);
    expectEncodeError(() => codec.encode(list), /cycle/);
  });

  it('wraps a throwing getter into EncodeError with the cause', () => {
    const boom = new Error('boom');
    const value = {
      get x(): number {
        throw boom;
      },
    };
    expect(expectEncodeError(() => codec.encode(value)).cause).toBe(boom);
  });

  it('refuses to encode more than maxBytes, since a peer would refuse to decode it', () => {
    const small = new JsonCodec({ maxBytes: 10 });
    expect(small.encode('12345678')).toHaveLength(10);
    expectEncodeError(() => small.encode('123456789'), /11 bytes exceeds the limit of 10 bytes/);
  });

  it('round-trips any JSON value, or refuses it when it holds a forbidden key', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        if (holdsForbiddenKey(value)) expectEncodeError(() => codec.encode(value), /key/);
        else expect(roundTrip(value)).toEqual(withoutNegativeZero(value));
      }),
      { numRuns: 300 },
    );
  });
});
