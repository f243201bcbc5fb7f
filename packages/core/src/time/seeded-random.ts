import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import type { Random } from '../contracts/time';

/** FNV-1a over a string: turns a seed and a label into a new 32-bit seed. */
function deriveSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5;
  const text = `${seed}/${label}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** A seeded {@link Random} on pure-rand's xoroshiro128+. */
export class SeededRandom implements Random {
  readonly seed: number;
  readonly #rng: RandomGenerator;

  /** @param seed - Any 32-bit integer; other numbers are truncated to one. */
  constructor(seed: number) {
    this.seed = seed | 0;
    this.#rng = xoroshiro128plus(this.seed);
  }

  /** A generator seeded from the host's entropy, for production use. */
  static fromEntropy(): SeededRandom {
    return new SeededRandom(Math.floor(Math.random() * 0x1_0000_0000) | 0);
  }

  next(): number {
    return uniformFloat64(this.#rng);
  }

  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`int(${min}, ${max}): bounds must be integers with min <= max`);
    }
    return uniformInt(this.#rng, min, max);
  }

  float(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
    return items[this.int(0, items.length - 1)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  fork(label: string): Random {
    return new SeededRandom(deriveSeed(this.seed, label));
  }
}
