/**
 * An error meant for the person at the terminal: printed as `Error: <message>` without a stack.
 * The message says what was wrong, the value given, and what to do.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}
