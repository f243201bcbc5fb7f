import { UserError } from './user-error';

/** A mistake in a command line: reported in one line with a hint to `--help`, exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
