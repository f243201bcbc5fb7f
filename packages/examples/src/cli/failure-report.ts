import { OlympicHttpError } from '../service/client';
import { UsageError } from './usage-error';
import { UserError } from './user-error';

/**
 * Error codes of the system that say the surroundings are not as the user
 * said (nothing listens there, no such host or file, a port taken, no
 * permission), not that this program is wrong.
 */
const surroundingsCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'ENOENT',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
]);

/** How a failed command is reported: the text for stderr and the exit code. */
export interface FailureReport {
  text: string;
  exitCode: number;
}

/** `parseArgs` names its errors with codes of this prefix. */
function parseArgsMessage(err: Error & { code?: unknown }): string | undefined {
  if (typeof err.code !== 'string' || !err.code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    return `unknown option ${quoted}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) {
    return `unexpected argument ${quoted}`;
  }
  // The first sentence names the flag and what is wrong; the rest is advice for programmers.
  const first = err.message.split('\n')[0].replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function isUserError(err: Error & { code?: unknown }): boolean {
  return (
    err instanceof UserError ||
    // A client's answer from a server: the client's stack says nothing about it.
    err instanceof OlympicHttpError ||
    (typeof err.code === 'string' && surroundingsCodes.has(err.code))
  );
}

/** The stack of `err` and of each error it was caused by. */
function stacks(err: unknown): string {
  const lines: string[] = [];
  for (let cause: unknown = err; cause !== undefined;) {
    lines.push(cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
    if (cause !== undefined) lines.push('caused by:');
  }
  return lines.join('\n');
}

/**
 * How `medals <command>` reports `err`: a mistake in the command line in one
 * line with a hint to `--help` (exit 2); a user's mistake or a fault of the
 * surroundings in one line (exit 1); anything else, a bug, with its stack
 * (exit 1). `verbose` adds the stack to the first two.
 */
export function failureReport(command: string, err: unknown, verbose: boolean): FailureReport {
  const prefix = command === '' ? 'medals' : `medals ${command}`;
  if (!(err instanceof Error)) return { text: `${prefix}: ${String(err)}\n`, exitCode: 1 };
  const detail = verbose ? `\n${stacks(err)}\n` : '\n';
  const usage = err instanceof UsageError ? err.message : parseArgsMessage(err);
  if (usage !== undefined) {
    return { text: `${prefix}: ${usage} (see ${prefix} --help)${detail}`, exitCode: 2 };
  }
  if (isUserError(err)) return { text: `${prefix}: ${err.message}${detail}`, exitCode: 1 };
  return { text: `${prefix}: ${stacks(err)}\n`, exitCode: 1 };
}
