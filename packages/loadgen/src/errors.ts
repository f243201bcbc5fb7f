import type { LoadResult } from './load-result';

/**
 * A run told to fail on errors (`failOnErrors`) saw some: non-2xx answers,
 * socket errors, timeouts or unanswered requests. The whole result is
 * attached.
 */
export class RequestsFailedError extends Error {
  /** Always `RequestsFailedError`. */
  override readonly name = 'RequestsFailedError';
  /** The run's whole result, errors counted by kind. */
  readonly result: LoadResult;

  constructor(result: LoadResult) {
    const { non2xx, socketErrors, timeouts, unanswered } = result.errors;
    super(
      `load run saw errors: ${non2xx} non-2xx answers, ${socketErrors} socket errors, ` +
        `${timeouts} timeouts, ${unanswered} requests unanswered`,
    );
    this.result = result;
  }
}
