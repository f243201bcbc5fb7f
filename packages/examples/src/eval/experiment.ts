import type { ServiceOptions } from '../service';

/** What every experiment gets. */
export interface ExperimentContext {
  /** The service's options (algorithms, transport, store, token). */
  options: ServiceOptions;
  /** Prints a progress line. */
  progress: (line: string) => void;
  /** Fewer rounds and requests, for the tests. */
  quick: boolean;
}

/** What an experiment produces: `results/<name>.md` and `results/<name>.svg`. */
export interface ExperimentResult {
  name: string;
  markdown: string;
  svg: string;
}

/** An experiment of `medals eval`. */
export interface Experiment {
  name: string;
  /** One line for the usage. */
  summary: string;
  run(context: ExperimentContext): Promise<ExperimentResult>;
}
