/**
 * A mistake of the user's or of their surroundings rather than of this
 * program: no cluster where a client looks for one, PostgreSQL not
 * answering, a port already taken. The CLI reports it in one line and exits
 * 1; `--verbose` adds the stack, which would only point into the CLI.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserError';
  }
}
