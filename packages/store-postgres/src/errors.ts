import { StoreUnavailableError, TimeoutError } from '@medals/core';

/** PostgreSQL error codes (SQLSTATE) the store handles. */
const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014',
} as const;

/** Errors after which a write statement is simply run again. */
const RETRYABLE: ReadonlySet<string> = new Set([
  SQLSTATE.uniqueViolation,
  SQLSTATE.serializationFailure,
  SQLSTATE.deadlockDetected,
]);

/** The message of pg's error for a statement over its client-side `query_timeout`; pg sets no code on it. */
const PG_QUERY_READ_TIMEOUT = 'Query read timeout';

/** Whether a statement that failed with `error` should simply be run again. */
export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(sqlState(error) ?? '');
}

/**
 * The store's typed error for what pg reported while doing `what`:
 * - the server cancelled the statement over `statement_timeout`:
 *   `TimeoutError`; the statement was rolled back;
 * - no answer within the client-side query timeout: `TimeoutError`; the
 *   server may still have run the statement, so a write's outcome is unknown;
 * - anything else the database did not do: `StoreUnavailableError`.
 */
export function translateError(error: unknown, what: string, queryTimeoutMs: number): Error {
  const message = (error as { message?: unknown } | null)?.message;
  const detail = typeof message === 'string' ? message : String(error);
  if (sqlState(error) === SQLSTATE.queryCanceled) {
    return new TimeoutError(`${what} exceeded the statement timeout: ${detail}`, { cause: error });
  }
  if (detail === PG_QUERY_READ_TIMEOUT) {
    return new TimeoutError(
      `${what} had no answer from PostgreSQL within the query timeout of ${queryTimeoutMs} ms; ` +
        'a write may or may not have been applied, and retrying it with the same operation id is safe',
      { cause: error },
    );
  }
  return new StoreUnavailableError(`${what} failed: ${detail}`, { cause: error });
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
