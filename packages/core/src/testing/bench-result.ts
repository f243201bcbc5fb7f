/** One figure of a benchmark run, as the packages' benches write it to `bench-results/<package>.json`. */
export interface BenchResult {
  /** Dotted name such as `codec.superjson.roundtrip`. */
  name: string;
  /** Unit of `value`: `ops/s`, `msg/s`, `us`, `ms`, `messages`… */
  unit: string;
  /** The figure measured. */
  value: number;
  /** Whether a smaller value is better (times, messages) or worse (throughputs). */
  lowerIsBetter: boolean;
  /** What the figure is measured against, in the same run on the same machine. */
  baseline?: {
    /** The baseline's own name. */
    name: string;
    /** Its figure, in the same unit. */
    value: number;
  };
  /** `value / baseline.value`, when there is a baseline. */
  ratio?: number;
}
