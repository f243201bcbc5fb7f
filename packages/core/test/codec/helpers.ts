import { DecodeError, EncodeError } from '@medals/core';

export const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Runs `fn` and returns the error it threw, failing the test when it returned. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, but the call returned');
}

export function expectDecodeError(fn: () => unknown, message?: RegExp): DecodeError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(DecodeError);
  expect((err as DecodeError).code).toBe('ERR_DECODE');
  if (message) expect((err as DecodeError).message).toMatch(message);
  return err as DecodeError;
}

export function expectEncodeError(fn: () => unknown, message?: RegExp): EncodeError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(EncodeError);
  expect((err as EncodeError).code).toBe('ERR_ENCODE');
  if (message) expect((err as EncodeError).message).toMatch(message);
  return err as EncodeError;
}

/** Whether an object anywhere in `value` (Maps and Sets included) has a forbidden own key. */
export function holdsForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Map)
    return [...value].some(([k, v]) => holdsForbiddenKey(k) || holdsForbiddenKey(v));
  if (value instanceof Set) return [...value].some(holdsForbiddenKey);
  return Object.keys(value).some(
    (key) =>
      (FORBIDDEN_KEYS as readonly string[]).includes(key) ||
      holdsForbiddenKey((value as Record<string, unknown>)[key]),
  );
}

/** Whether `value` holds an invalid Date anywhere, which no codec can carry. */
export function holdsInvalidDate(value: unknown): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Map)
    return [...value].some(([k, v]) => holdsInvalidDate(k) || holdsInvalidDate(v));
  if (value instanceof Set) return [...value].some(holdsInvalidDate);
  return Object.values(value).some(holdsInvalidDate);
}

/** Replaces every -0 by 0, as JSON does. */
export function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: withoutNegativeZero(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Nothing a decode did may have reached Object.prototype. */
export function expectPrototypeUntouched(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
}

/** `[1, <hole>, 3]`, built without a sparse literal. */
export function sparseArray(): unknown[] {
  const array: unknown[] = [];
  array[0] = 1;
  array[2] = 3;
  return array;
}
