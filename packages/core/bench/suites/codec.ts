import SuperJSON from 'superjson';
import { JsonCodec, SuperjsonCodec } from '../../src/codec';
import type { BenchResult } from '../../src/testing/bench';
import { benchResult } from '../../src/testing/bench';
import type { BenchSuite } from '../suite';
import { opsPerSecond } from '../suite';

/** A typical node-to-node message: small, nested, with a Date and a Map (about 260 bytes as superjson). */
const message = {
  type: 'deliver',
  id: 'fe2:1234',
  sender: 'fe2',
  sentAt: new Date('2024-07-26T19:30:00.000Z'),
  lamport: 1234,
  payload: {
    event: 'Stone Curling',
    scores: new Map([
      ['Rome', 3],
      ['Gaul', 5],
    ]),
    final: false,
  },
};

/** The same message in the JSON data model, since JsonCodec refuses a Date and a Map. */
const plainMessage = {
  ...message,
  sentAt: message.sentAt.toISOString(),
  payload: { ...message.payload, scores: Object.fromEntries(message.payload.scores) },
};

/**
 * Encode + decode of a message through each codec, each against
 * `JSON.parse(JSON.stringify(…))` of the same object in the same run. For
 * SuperjsonCodec the baseline does less work (it turns the Date into a
 * string and the Map into `{}`), so the ratio is the price of carrying them;
 * `codec.superjson.vs-stock` compares the codec, checks included, with a
 * bare superjson instance (`parse(stringify(…))`) on the same message.
 */
export const codecSuite: BenchSuite = {
  name: 'codec',
  async run(): Promise<BenchResult[]> {
    const superjson = new SuperjsonCodec();
    const json = new JsonCodec();
    const stock = new SuperJSON();
    const hz = await opsPerSecond({
      superjson: () => superjson.decode(superjson.encode(message)),
      'superjson plain': () => superjson.decode(superjson.encode(plainMessage)),
      json: () => json.decode(json.encode(plainMessage)),
      'stock superjson': () => stock.parse(stock.stringify(message)),
      baseline: () => JSON.parse(JSON.stringify(message)),
      'baseline plain': () => JSON.parse(JSON.stringify(plainMessage)),
    });
    const baseline = { name: 'JSON.parse(JSON.stringify(message))', value: hz['baseline'] ?? 0 };
    const plainBaseline = {
      name: 'JSON.parse(JSON.stringify(plain message))',
      value: hz['baseline plain'] ?? 0,
    };
    return [
      benchResult('codec.superjson.roundtrip', 'ops/s', hz['superjson'] ?? 0, false, baseline),
      benchResult(
        'codec.superjson.plain.roundtrip',
        'ops/s',
        hz['superjson plain'] ?? 0,
        false,
        plainBaseline,
      ),
      benchResult('codec.json.roundtrip', 'ops/s', hz['json'] ?? 0, false, plainBaseline),
      benchResult('codec.superjson.vs-stock', 'ops/s', hz['superjson'] ?? 0, false, {
        name: 'superjson parse(stringify(message))',
        value: hz['stock superjson'] ?? 0,
      }),
    ];
  },
};
