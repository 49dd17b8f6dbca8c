/**
 * The datapath's errors. `retryable` is decided here once: true when the same call may succeed
 * later with no one changing the request (an interface that is still being created), false when
 * the request itself or the node's configuration must change.
 */
export abstract class DatapathError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The desired state is malformed; nothing was changed. `issues` lists every problem found. */
export class DatapathInputError extends DatapathError {
  readonly retryable = false;
  constructor(readonly issues: readonly string[]) {
    super(`invalid desired datapath state: ${issues.join("; ")}`);
  }
}

/** The node is not as the desired state says (a missing uplink, an unusable MTU). */
export class DatapathEnvironmentError extends DatapathError {
  readonly retryable = true;
}

/** A command that reads or writes kernel state failed as a whole (not one line of a batch). */
export class DatapathCommandError extends DatapathError {
  readonly retryable = true;
}
