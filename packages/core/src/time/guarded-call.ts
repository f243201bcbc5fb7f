/**
 * Calls a timer callback and hands its failure to `onError`: a throw, or the
 * rejection of a promise it returns (an async callback fits `() => void`,
 * and its rejection would otherwise be unhandled).
 */
export function callGuarded(fn: () => void, onError: (error: unknown) => void): void {
  try {
    const result: unknown = fn();
    if (isThenable(result)) result.then(undefined, onError);
  } catch (err) {
    onError(err);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
