import type { SuperJSONResult } from 'superjson';
import { DecodeError } from '../contracts/errors';
import { abbreviate } from './abbreviate';
import { UINT8ARRAY_TRANSFORMER } from './uint8array-transformer';

/** What superjson writes of an Error; it would also copy a `stack` from the wire. */
const ERROR_FIELDS: readonly string[] = ['name', 'message', 'cause'];

/** Checks on the plain JSON a superjson annotation is about to turn into a richer value. */
const ANNOTATION_INPUT = new Map<string, (json: unknown) => boolean>([
  ['undefined', (json) => json === null],
  ['bigint', (json) => typeof json === 'string' && /^-?\d+$/.test(json)],
  [
    'number',
    (json) => json === 'NaN' || json === 'Infinity' || json === '-Infinity' || json === '-0',
  ],
  ['Date', (json) => typeof json === 'string'],
  [
    'regexp',
    (json) => typeof json === 'string' && json.startsWith('/') && json.lastIndexOf('/') > 0,
  ],
  ['URL', (json) => typeof json === 'string'],
  ['set', (json) => Array.isArray(json)],
  [
    'map',
    (json) =>
      Array.isArray(json) && json.every((entry) => Array.isArray(entry) && entry.length === 2),
  ],
  [
    'Error',
    (json) =>
      isPlainObject(json) &&
      typeof json['name'] === 'string' &&
      typeof json['message'] === 'string' &&
      Object.keys(json).every((key) => ERROR_FIELDS.includes(key)),
  ],
]);

const DOT = 0x2e;
const BACKSLASH = 0x5c;

/** The meta version superjson 2 writes; older versions parse paths differently. */
const META_VERSION = 1;

interface AnnotatedPath {
  annotated: boolean;
  children: Map<string, AnnotatedPath>;
}

/**
 * Reads the `{ json, meta }` envelope of superjson's format from parsed
 * (already key-checked) JSON, and refuses with `DecodeError` any meta that
 * would do more than turn existing plain values into the types this codec
 * writes. Each annotation must name a known type, point at a value that
 * exists in `json` (so it cannot add properties or stretch arrays), find the
 * plain shape that type is written as, and be applied before any annotation
 * of an ancestor (so the path superjson follows is the one checked here).
 * Shared-reference annotations are refused: `SuperjsonCodec` never writes
 * them, and they could make the value cyclic.
 */
export function readSuperjsonEnvelope(parsed: unknown, codec: string): SuperJSONResult {
  if (!isPlainObject(parsed) || !Object.hasOwn(parsed, 'json')) {
    throw new DecodeError(`${codec}: expected an object with a "json" property`);
  }
  refuseUnknownKeys(parsed, ['json', 'meta'], codec, 'the envelope');
  const json = parsed['json'] as SuperJSONResult['json'];
  const meta = parsed['meta'];
  if (meta === undefined) return { json };
  if (!isPlainObject(meta)) throw new DecodeError(`${codec}: "meta" must be an object`);
  if (Object.hasOwn(meta, 'referentialEqualities')) {
    throw new DecodeError(
      `${codec}: shared-reference annotations (meta.referentialEqualities) are not accepted`,
    );
  }
  refuseUnknownKeys(meta, ['values', 'v'], codec, '"meta"');
  if (meta['v'] !== META_VERSION) {
    throw new DecodeError(`${codec}: unsupported meta version ${abbreviate(String(meta['v']))}`);
  }
  if (meta['values'] === undefined) return { json };
  new AnnotationCheck(json, codec).tree(meta['values'], []);
  return { json, meta: { values: meta['values'] as never, v: META_VERSION } };
}

class AnnotationCheck {
  private readonly applied: AnnotatedPath = { annotated: false, children: new Map() };

  constructor(
    private readonly json: unknown,
    private readonly codec: string,
  ) {}

  /** Mirrors superjson's traversal: children before their node, keys in insertion order. */
  tree(tree: unknown, path: readonly string[]): void {
    if (Array.isArray(tree)) {
      if (tree.length < 1 || tree.length > 2)
        throw this.refuse('an annotation node must be [type] or [type, children]', path);
      const [annotation, children] = tree as [unknown, unknown];
      if (children !== undefined) this.children(children, path);
      this.annotation(annotation, path);
    } else {
      this.children(tree, path);
    }
  }

  private children(children: unknown, path: readonly string[]): void {
    if (!isPlainObject(children)) throw this.refuse('annotation children must be an object', path);
    for (const key of Object.keys(children))
      this.tree(children[key], [...path, ...this.parsePath(key, path)]);
  }

  private annotation(annotation: unknown, path: readonly string[]): void {
    this.claim(path);
    const json = this.resolve(path);
    let fits: boolean;
    if (typeof annotation === 'string') {
      const check = ANNOTATION_INPUT.get(annotation);
      if (!check) throw this.refuse(`unknown annotation ${abbreviate(annotation)}`, path);
      fits = check(json);
    } else if (
      Array.isArray(annotation) &&
      annotation[0] === 'custom' &&
      annotation[1] === UINT8ARRAY_TRANSFORMER
    ) {
      fits = annotation.length === 2 && typeof json === 'string';
    } else {
      throw this.refuse(
        `unsupported annotation ${abbreviate(JSON.stringify(annotation) ?? 'undefined')}`,
        path,
      );
    }
    if (!fits)
      throw this.refuse(
        `the value does not have the shape of its ${abbreviate(JSON.stringify(annotation))} annotation`,
        path,
      );
  }

  /** Refuses a second annotation on a path, or one below a value that an earlier annotation already transformed. */
  private claim(path: readonly string[]): void {
    let node = this.applied;
    for (const segment of path) {
      if (node.annotated)
        throw this.refuse('annotation inside a value that was already transformed', path);
      let child = node.children.get(segment);
      if (!child) {
        child = { annotated: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node.annotated) throw this.refuse('duplicate annotation', path);
    node.annotated = true;
  }

  private resolve(path: readonly string[]): unknown {
    let value = this.json;
    for (const segment of path) {
      if (Array.isArray(value)) {
        const index = Number(segment);
        if (!/^(?:0|[1-9]\d*)$/.test(segment) || index >= value.length) {
          throw this.refuse('annotation points outside an array', path);
        }
        value = value[index];
      } else if (isPlainObject(value) && Object.hasOwn(value, segment)) {
        value = value[segment];
      } else {
        throw this.refuse('annotation points to nothing', path);
      }
    }
    return value;
  }

  /** superjson's path syntax (version 1): segments joined by `.`, with `\.` and `\\` as escapes. */
  private parsePath(text: string, parent: readonly string[]): string[] {
    const segments: string[] = [];
    let segment = '';
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === DOT) {
        segments.push(segment + text.slice(start, i));
        segment = '';
        start = i + 1;
      } else if (code === BACKSLASH) {
        const next = text.charCodeAt(i + 1);
        if (next !== DOT && next !== BACKSLASH) {
          throw this.refuse(`invalid path ${abbreviate(text)}`, parent);
        }
        segment += text.slice(start, i) + text[i + 1];
        start = ++i + 1;
      }
    }
    segments.push(segment + text.slice(start));
    return segments;
  }

  private refuse(reason: string, path: readonly string[]): DecodeError {
    return new DecodeError(
      `${this.codec}: ${reason} in meta, at ${abbreviate(['$', ...path].join('.'))}`,
    );
  }
}

function refuseUnknownKeys(
  object: Record<string, unknown>,
  known: readonly string[],
  codec: string,
  where: string,
): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key))
      throw new DecodeError(`${codec}: unexpected key ${abbreviate(key)} in ${where}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
