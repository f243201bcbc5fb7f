import type { SuperJSONResult } from 'superjson';
import { isUint8Array } from './encodable-value';
import { toBase64, UINT8ARRAY_TRANSFORMER } from './uint8array-transformer';

type TypeAnnotation = string | [string, string];
/** Annotations below a value, keyed by superjson path relative to it. */
interface InnerAnnotations {
  [path: string]: AnnotationTree;
}
/** superjson's annotation tree: a value's own type and what lies below it, or only what lies below. */
type AnnotationTree = [TypeAnnotation] | [TypeAnnotation, InnerAnnotations] | InnerAnnotations;

interface Written {
  json: unknown;
  annotations?: AnnotationTree;
}

/**
 * Writes a value in superjson's `{ json, meta }` format, exactly as
 * `superjson.serialize` does for the types SuperjsonCodec carries (with
 * `Uint8Array` through the custom transformer), but in one pass without
 * superjson's per-node path arrays and rule lookups. The value must already
 * have passed `EncodableValueCheck` in `superjson` mode: no cycles, no
 * unsupported types, no forbidden keys. Shared references are written as
 * copies and get no annotation.
 */
export function writeSuperjson(value: unknown): SuperJSONResult {
  const { json, annotations } = write(value);
  return annotations === undefined
    ? { json: json as SuperJSONResult['json'] }
    : { json: json as SuperJSONResult['json'], meta: { values: annotations as never, v: 1 } };
}

function write(value: unknown): Written {
  switch (typeof value) {
    case 'undefined':
      return { json: null, annotations: ['undefined'] };
    case 'bigint':
      return { json: value.toString(), annotations: ['bigint'] };
    case 'number':
      if (Number.isNaN(value)) return { json: 'NaN', annotations: ['number'] };
      if (!Number.isFinite(value))
        return { json: value > 0 ? 'Infinity' : '-Infinity', annotations: ['number'] };
      if (value === 0 && 1 / value < 0) return { json: '-0', annotations: ['number'] };
      return { json: value };
    case 'object':
      return value === null ? { json: null } : writeObject(value);
    default:
      return { json: value };
  }
}

function writeObject(value: object): Written {
  if (Array.isArray(value)) return writeContainer(value.entries(), [], undefined);
  if (isUint8Array(value))
    return { json: toBase64(value), annotations: [['custom', UINT8ARRAY_TRANSFORMER]] };
  if (value instanceof Date) return { json: value.toISOString(), annotations: ['Date'] };
  if (value instanceof Error) {
    const fields: Record<string, unknown> = { name: value.name, message: value.message };
    if ('cause' in value) fields['cause'] = value.cause;
    return writeContainer(Object.entries(fields), {}, 'Error');
  }
  if (value instanceof RegExp) return { json: String(value), annotations: ['regexp'] };
  if (value instanceof Set) return writeContainer([...value].entries(), [], 'set');
  if (value instanceof Map) return writeContainer([...value].entries(), [], 'map');
  if (value instanceof URL) return { json: value.toString(), annotations: ['URL'] };
  return writeContainer(Object.entries(value), {}, undefined);
}

/** Writes the children of an array, plain object, or a Map/Set/Error already turned into one. */
function writeContainer(
  children: Iterable<[string | number, unknown]>,
  json: Record<string, unknown> | unknown[],
  type: TypeAnnotation | undefined,
): Written {
  let inner: InnerAnnotations | undefined;
  for (const [key, child] of children) {
    const written = write(child);
    (json as Record<string, unknown>)[key] = written.json;
    const annotations = written.annotations;
    if (annotations === undefined) continue;
    inner ??= {};
    const path = escapeKey(String(key));
    if (Array.isArray(annotations)) {
      inner[path] = annotations;
    } else {
      // A plain child's own annotations are hoisted with dotted paths, as superjson does.
      for (const below of Object.keys(annotations))
        inner[`${path}.${below}`] = annotations[below] as AnnotationTree;
    }
  }
  if (type === undefined) return { json, annotations: inner };
  return { json, annotations: inner === undefined ? [type] : [type, inner] };
}

/** superjson's path escaping: `\` and `.` inside a key are preceded by `\`. */
function escapeKey(key: string): string {
  return key.includes('\\') || key.includes('.') ? key.replace(/[\\.]/g, '\\$&') : key;
}
