import type { Fault, NodeId } from '@medals/core';
import { validateConditions } from '@medals/core';
import { z } from 'zod';

/**
 * Parses a time such as `3s`, `1.5s`, `250ms` or `3000` (ms) into virtual
 * ms. Throws `RangeError` for anything else.
 */
export function parseTime(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (match === null) {
    throw new RangeError(`${JSON.stringify(text)} is not a time (e.g. 3s, 1.5s, 250ms)`);
  }
  const value = Number(match[1]);
  return Math.round(match[2] === 's' ? value * 1_000 : value);
}

/**
 * Parses one `--fault` of `medals sim`: `crash:fe2@3s`, `restart:fe2@6s`,
 * `partition:fe1/fe2,db@8s` (groups split by `/`, members by `,`) or
 * `heal@12s`. Every node named must be one of `nodes`. Throws `RangeError`
 * saying what is wrong.
 */
export function parseFault(text: string, nodes: readonly NodeId[]): Fault {
  const at = text.lastIndexOf('@');
  if (at < 0)
    throw new RangeError(`fault ${JSON.stringify(text)} has no time: add @<time>, e.g. @3s`);
  const what = text.slice(0, at);
  const time = parseTime(text.slice(at + 1));
  const colon = what.indexOf(':');
  const kind = colon < 0 ? what : what.slice(0, colon);
  const args = colon < 0 ? '' : what.slice(colon + 1);
  const known = (node: string): NodeId => {
    if (!nodes.includes(node)) {
      throw new RangeError(
        `fault ${JSON.stringify(text)} names ${JSON.stringify(node)}, not one of ${nodes.join(', ')}`,
      );
    }
    return node;
  };
  switch (kind) {
    case 'crash':
    case 'restart':
      return { at: time, type: kind, node: known(args) };
    case 'partition': {
      const groups = args.split('/').map((group) =>
        group
          .split(',')
          .filter((n) => n !== '')
          .map(known),
      );
      if (groups.length < 2 || groups.some((group) => group.length === 0)) {
        throw new RangeError(
          `fault ${JSON.stringify(text)}: a partition needs two or more groups, e.g. partition:fe1/fe2,db@8s`,
        );
      }
      const all = groups.flat();
      if (new Set(all).size !== all.length) {
        throw new RangeError(`fault ${JSON.stringify(text)} puts a node in two groups`);
      }
      return { at: time, type: 'partition', groups };
    }
    case 'heal':
      if (args !== '')
        throw new RangeError(`fault ${JSON.stringify(text)}: heal takes no arguments (heal@12s)`);
      return { at: time, type: 'heal' };
    default:
      throw new RangeError(
        `fault ${JSON.stringify(text)}: the kind must be crash, restart, partition or heal`,
      );
  }
}

const faultObject = z.discriminatedUnion('type', [
  z.object({ at: z.number().nonnegative(), type: z.literal('crash'), node: z.string() }).strict(),
  z.object({ at: z.number().nonnegative(), type: z.literal('restart'), node: z.string() }).strict(),
  z
    .object({
      at: z.number().nonnegative(),
      type: z.literal('partition'),
      groups: z.array(z.array(z.string()).min(1)).min(2),
    })
    .strict(),
  z.object({ at: z.number().nonnegative(), type: z.literal('heal') }).strict(),
  z
    .object({
      at: z.number().nonnegative(),
      type: z.literal('conditions'),
      conditions: z
        .object({
          latency: z.union([z.number(), z.object({ min: z.number(), max: z.number() })]).optional(),
          loss: z.number().optional(),
          duplicate: z.number().optional(),
          reorder: z.number().optional(),
          reorderWindowMs: z.number().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/**
 * Parses the JSON of `medals sim --faults <file>`: an array whose items are
 * either `--fault` strings (`"crash:fe2@3s"`) or fault objects as the
 * simulator takes them (`{ "at": 3000, "type": "crash", "node": "fe2" }`,
 * times in ms; `conditions` changes the links' conditions). Throws
 * `RangeError` naming the first bad item.
 */
export function parseFaultFile(json: string, nodes: readonly NodeId[]): Fault[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new RangeError(`not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(value)) throw new RangeError('must be a JSON array of faults');
  return value.map((item: unknown, index): Fault => {
    if (typeof item === 'string') {
      try {
        return parseFault(item, nodes);
      } catch (err) {
        throw new RangeError(`item ${index}: ${(err as Error).message}`, { cause: err });
      }
    }
    const parsed = faultObject.safeParse(item);
    if (!parsed.success) {
      throw new RangeError(
        `item ${index}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`).join('; ')}`,
      );
    }
    const fault = parsed.data;
    const named =
      fault.type === 'crash' || fault.type === 'restart'
        ? [fault.node]
        : fault.type === 'partition'
          ? fault.groups.flat()
          : [];
    const unknown = named.find((node) => !nodes.includes(node));
    if (unknown !== undefined) {
      throw new RangeError(
        `item ${index} names ${JSON.stringify(unknown)}, not one of ${nodes.join(', ')}`,
      );
    }
    if (fault.type === 'conditions') {
      try {
        validateConditions(fault.conditions);
      } catch (err) {
        throw new RangeError(`item ${index}: ${(err as Error).message}`, { cause: err });
      }
    }
    return fault;
  });
}
