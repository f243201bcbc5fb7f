/**
 * Own keys that let a decoded object reach or replace a prototype when a
 * consumer later merges, assigns or `Object.assign`s it.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/**
 * Whether JSON text may hold a forbidden key. A key can only be spelled in
 * the text literally or with `\u` escapes, and both `__proto__` and
 * `prototype` contain `proto`, so when none of these substrings occurs no
 * object in the parsed value can carry one and the walk can be skipped.
 */
export function mayHoldForbiddenKey(text: string): boolean {
  return text.includes('proto') || text.includes('constructor') || text.includes('\\u');
}

/**
 * Finds an object anywhere in a value parsed by `JSON.parse` that has a
 * forbidden own key, and returns that key's path (such as `$.a[2].__proto__`),
 * or `undefined` when there is none. Iterative, so arbitrarily deep input
 * cannot overflow the stack.
 */
export function findForbiddenKey(root: unknown): string | undefined {
  const values: unknown[] = [root];
  const paths: string[] = ['$'];
  while (values.length > 0) {
    const value = values.pop();
    const path = paths.pop() as string;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'object' && item !== null) {
          values.push(item);
          paths.push(`${path}[${i}]`);
        }
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return `${path}.${key}`;
      const item: unknown = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) {
        values.push(item);
        paths.push(`${path}.${key}`);
      }
    }
  }
  return undefined;
}
