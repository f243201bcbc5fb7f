/** A small seeded generator (mulberry32) for crash timings, so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: `MEDALS_CRASH_SEED` if set, else fresh. */
export function crashSeed(): number {
  const fixed = Number(process.env.MEDALS_CRASH_SEED);
  return Number.isSafeInteger(fixed) ? fixed : Math.floor(Math.random() * 2 ** 31);
}
