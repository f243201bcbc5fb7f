import { EncodeError } from '../contracts/errors';
import { FORBIDDEN_KEYS } from './forbidden-keys';

type PathSegment = string | number;

/**
 * Walks a value before it is encoded and refuses, with `EncodeError`, what
 * the codec could not carry faithfully: functions, symbols, cycles, sparse
 * arrays, forbidden keys (a peer would refuse them) and objects of classes
 * it does not know. In `json` mode only the JSON data model passes; in
 * `superjson` mode Date, RegExp, Map, Set, Error, URL, Uint8Array, BigInt,
 * undefined, NaN, ±Infinity and -0 pass too, and {@link pureJson} tells
 * whether any of them was met.
 */
export class EncodableValueCheck {
  /** True while everything met so far is plain JSON that `JSON.stringify` carries exactly. */
  pureJson = true;
  private readonly ancestors = new Set<object>();
  private readonly path: PathSegment[] = [];

  constructor(
    private readonly codec: string,
    private readonly mode: 'json' | 'superjson',
  ) {}

  /** Checks `value` and everything it holds; throws `EncodeError` at the first problem. */
  check(value: unknown): void {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(value)) return this.needsExtended(`the number ${value}`);
        // JSON writes -0 as 0; only superjson keeps the sign.
        if (value === 0 && 1 / value < 0 && this.mode === 'superjson') this.pureJson = false;
        return;
      case 'bigint':
        return this.needsExtended('a bigint');
      case 'undefined':
        return this.needsExtended('undefined');
      case 'function':
      case 'symbol':
        throw this.refuse(`a ${typeof value} cannot be encoded`);
      case 'object':
        if (value !== null) this.checkObject(value);
        return;
    }
  }

  private checkObject(value: object): void {
    if (Array.isArray(value)) return this.checkArray(value);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return this.checkPlainObject(value);
    if (this.mode === 'json') throw this.refuse(`${describe(value)} has no JSON representation`);
    this.pureJson = false;
    this.checkExtendedObject(value);
  }

  private checkArray(array: readonly unknown[]): void {
    this.enter(array);
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      if (item === undefined && !(i in array))
        throw this.refuse(`a sparse array (hole at index ${i}) cannot be encoded`);
      this.path.push(i);
      this.check(item);
      this.path.pop();
    }
    this.leave(array);
  }

  private checkPlainObject(object: object): void {
    this.enter(object);
    for (const key of Object.keys(object)) {
      if (FORBIDDEN_KEYS.has(key)) throw this.refuse(`the key ${key} is refused by every decoder`);
      const item: unknown = (object as Record<string, unknown>)[key];
      // JSON.stringify omits undefined properties, which reads back as an absent optional field.
      if (item === undefined && this.mode === 'json') continue;
      this.path.push(key);
      this.check(item);
      this.path.pop();
    }
    this.leave(object);
  }

  private checkExtendedObject(value: object): void {
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw this.refuse('an invalid Date cannot be encoded');
    } else if (value instanceof Map) {
      this.enter(value);
      let i = 0;
      for (const [key, item] of value) {
        this.path.push(`<map key ${i}>`);
        this.check(key);
        this.path.pop();
        this.path.push(`<map value ${i}>`);
        this.check(item);
        this.path.pop();
        i++;
      }
      this.leave(value);
    } else if (value instanceof Set) {
      this.enter(value);
      let i = 0;
      for (const item of value) {
        this.path.push(`<set item ${i++}>`);
        this.check(item);
        this.path.pop();
      }
      this.leave(value);
    } else if (value instanceof Error) {
      // superjson keeps an error's name, message and cause; the stack stays home.
      if (typeof value.name !== 'string' || typeof value.message !== 'string') {
        throw this.refuse('an Error whose name or message is not a string cannot be encoded');
      }
      if ('cause' in value) {
        this.enter(value);
        this.path.push('cause');
        this.check(value.cause);
        this.path.pop();
        this.leave(value);
      }
    } else if (!(value instanceof RegExp || value instanceof URL || isUint8Array(value))) {
      throw this.refuse(`${describe(value)} cannot be encoded`);
    }
  }

  private needsExtended(what: string): void {
    if (this.mode === 'json') throw this.refuse(`${what} has no JSON representation`);
    this.pureJson = false;
  }

  private enter(object: object): void {
    if (this.ancestors.has(object))
      throw this.refuse('a cycle cannot be encoded (the value contains itself)');
    this.ancestors.add(object);
  }

  private leave(object: object): void {
    this.ancestors.delete(object);
  }

  private refuse(reason: string): EncodeError {
    const where = this.path
      .map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${segment}`))
      .join('');
    return new EncodeError(`${this.codec}: ${reason}, at $${where}`);
  }
}

/**
 * Whether a value is a Uint8Array, Buffer included. Checks the tag rather
 * than `instanceof` so that arrays from another realm count too.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return (
    ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]'
  );
}

function describe(value: object): string {
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== ''
    ? `an instance of ${name}`
    : 'an object with a foreign prototype';
}
