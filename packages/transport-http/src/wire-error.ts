/** An error as it crosses the wire, in the JSON body of every non-2xx answer: `{"error","name","code"}`. */
export interface WireError {
  /** The error's message. */
  readonly error: string;
  /** The error's `name`, e.g. `TypeError` or `AuthError`. */
  readonly name: string;
  /** The error's `code`, when it had a string one. */
  readonly code?: string;
}

/** Turns whatever a handler threw into a wire error. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { error: err.message, name: err.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { error: String(err), name: 'Error' };
}

/** Reads the wire error of an answer, or describes the answer when its body is not one (a proxy's page, say). */
export function parseWireError(status: number, body: Uint8Array): WireError {
  try {
    const parsed: unknown = JSON.parse(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
    );
    if (isRecord(parsed) && typeof parsed.error === 'string') {
      return {
        error: parsed.error,
        name: typeof parsed.name === 'string' ? parsed.name : 'Error',
        ...(typeof parsed.code === 'string' ? { code: parsed.code } : {}),
      };
    }
  } catch {
    // not JSON: fall through to the generic description
  }
  return {
    error: `HTTP ${status} without an error body`,
    name: 'Error',
    code: `ERR_HTTP_${status}`,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
