import { DecodeError, SuperjsonCodec } from '@medals/core';
import { bytes, expectDecodeError, expectPrototypeUntouched } from './helpers';

const codec = new SuperjsonCodec();
const decode = (envelope: unknown): unknown => codec.decode(bytes(JSON.stringify(envelope)));
const meta = (values: unknown): { values: unknown; v: number } => ({ values, v: 1 });

describe('SuperjsonCodec decoding a hostile meta part', () => {
  afterEach(expectPrototypeUntouched);

  it('applies a well-formed meta', () => {
    expect(
      decode({ json: { a: '1970-01-01T00:00:00.000Z' }, meta: meta({ a: ['Date'] }) }),
    ).toStrictEqual({
      a: new Date(0),
    });
  });

  it.each([
    [
      'a path through __proto__',
      { json: { a: 1 }, meta: meta({ '__proto__.polluted': ['undefined'] }) },
    ],
    ['a path ending in __proto__', { json: {}, meta: meta({ 'a.__proto__': ['Date'] }) }],
    [
      'a path through constructor.prototype',
      { json: {}, meta: meta({ 'constructor.prototype.polluted': ['Date'] }) },
    ],
    [
      'a forbidden key in the tree',
      { json: {}, meta: { values: { ['__proto__']: ['Date'] }, v: 1 } },
    ],
    [
      'an escaped forbidden key in the tree',
      '{"json":{},"meta":{"values":{"\\u005f_proto__":["map"]},"v":1}}',
    ],
    [
      'shared-reference annotations aimed at __proto__',
      { json: { a: { polluted: 1 } }, meta: { referentialEqualities: { a: ['__proto__'] }, v: 1 } },
    ],
    [
      'shared-reference annotations that make a cycle',
      { json: { a: {} }, meta: { referentialEqualities: [['a']], v: 1 } },
    ],
    ['an annotation that adds a property', { json: {}, meta: meta({ polluted: ['undefined'] }) }],
    [
      'an annotation that stretches an array',
      { json: [], meta: meta({ '4294967294': ['undefined'] }) },
    ],
    [
      'an annotation at a non-canonical index',
      { json: [null], meta: meta({ '0e0': ['undefined'] }) },
    ],
    [
      'an annotation through a string',
      { json: { s: 'abc' }, meta: meta({ 's.length': ['undefined'] }) },
    ],
    ['an unknown annotation', { json: 1, meta: meta(['Function']) }],
    [
      'an annotation named after an Object.prototype member',
      { json: 1, meta: meta(['constructor']) },
    ],
    ['a class annotation', { json: {}, meta: meta([['class', 'Object']]) }],
    ['a symbol annotation', { json: 'x', meta: meta([['symbol', 'x']]) }],
    ['a huge typed array', { json: 4294967295, meta: meta([['typed-array', 'Float64Array']]) }],
    ['an unknown custom transformer', { json: 'x', meta: meta([['custom', 'Evil']]) }],
    [
      'a duplicate annotation',
      { json: { a: { b: null } }, meta: meta({ 'a.b': ['undefined'], a: { b: ['undefined'] } }) },
    ],
    [
      'an annotation inside an already transformed value',
      { json: { m: [[null, 1]] }, meta: meta({ m: ['map'], 'm.0.0': ['undefined'] }) },
    ],
    ['an invalid path escape', { json: { a: 1 }, meta: meta({ 'a\\x': ['undefined'] }) }],
    ['a malformed tree node', { json: 1, meta: meta(['number', {}, 'extra']) }],
    ['a tree that is not an object', { json: 1, meta: meta('Date') }],
    ['no meta version', { json: 1, meta: { values: ['undefined'] } }],
    ['a legacy meta version', { json: 1, meta: { values: ['undefined'], v: 0 } }],
    ['an unknown meta key', { json: 1, meta: { values: ['undefined'], v: 1, extra: 1 } }],
    ['a meta that is not an object', { json: 1, meta: [1] }],
    ['an envelope that is not an object', [1]],
    ['an envelope without json', { meta: meta(['undefined']) }],
    ['an unknown envelope key', { json: 1, extra: 2 }],
  ])('refuses %s', (_, envelope) => {
    const text = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
    expectDecodeError(() => codec.decode(bytes(text)));
  });

  it.each([
    ['undefined over a non-null value', 1, ['undefined']],
    ['bigint over a non-integer', '1.5', ['bigint']],
    ['bigint over a number', 1, ['bigint']],
    ['number over an arbitrary string', '1e9', ['number']],
    ['Date over an object', {}, ['Date']],
    ['regexp without slashes', 'abc', ['regexp']],
    ['URL over a number', 1, ['URL']],
    ['set over an object', { length: 1e9 }, ['set']],
    ['map over flat entries', [1, 2], ['map']],
    ['Error over a string', 'boom', ['Error']],
    ['Error carrying a stack', { name: 'Error', message: 'm', stack: 'forged' }, ['Error']],
    ['Uint8Array over a number', 100000000, [['custom', 'Uint8Array']]],
  ])('refuses %s', (_, json, values) => {
    expectDecodeError(() => decode({ json, meta: meta(values) }), /does not have the shape/);
  });

  it.each([
    ['a RegExp with invalid flags', '/a/zz', ['regexp']],
    ['a RegExp with an invalid pattern', '/(/', ['regexp']],
    ['an invalid URL', 'not a url', ['URL']],
    ['base64 with stray characters', 'AQ!D', [['custom', 'Uint8Array']]],
    ['unpadded base64', 'AQI', [['custom', 'Uint8Array']]],
  ])('wraps superjson failing on %s into DecodeError', (_, json, values) => {
    const err = expectDecodeError(
      () => decode({ json, meta: meta(values) }),
      /could not be checked or applied/,
    );
    // Checked by shape: new URL throws an error of Node's realm, not the test's.
    expect(err.cause).toHaveProperty('message', expect.any(String));
    expect(err.cause).not.toBeInstanceOf(DecodeError);
  });

  it('refuses a meta tree nested deeper than the call stack allows', () => {
    const depth = 100_000;
    const tree = `${'["undefined",{"a":'.repeat(depth)}["undefined"]${'}]'.repeat(depth)}`;
    expectDecodeError(() => codec.decode(bytes(`{"json":null,"meta":{"values":${tree},"v":1}}`)));
  });
});
