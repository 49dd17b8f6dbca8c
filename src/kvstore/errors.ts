/**
 * The kvstore's error hierarchy. Callers branch on the class (or `code`), never on message text.
 * `retryable` is decided once, here: a retryable error means "the same call may succeed later
 * without anyone changing anything" (the store was unreachable, a lease expired and can be
 * re-granted); the rest need a person or a different request.
 */
export type KvErrorCode = "unreachable" | "unauthenticated" | "permission-denied" | "compacted" | "lease-lost" | "closed";

export abstract class KvError extends Error {
  abstract readonly code: KvErrorCode;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The store could not be reached or did not answer in time. */
export class UnreachableError extends KvError {
  readonly code = "unreachable";
  readonly retryable = true;
}

/** The store refused our credentials (bad certificate, wrong password, unknown user). */
export class UnauthenticatedError extends KvError {
  readonly code = "unauthenticated";
  readonly retryable = false;
}

/** Authenticated, but the user's roles do not allow this key or operation. */
export class PermissionDeniedError extends KvError {
  readonly code = "permission-denied";
  readonly retryable = false;
}

/** A watch or read asked for a revision the store has already compacted away. */
export class CompactedError extends KvError {
  readonly code = "compacted";
  readonly retryable = true;
  constructor(
    message: string,
    /** The oldest revision still available; a re-list returns state at or after it. */
    readonly compactRevision: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A lease expired or was revoked; keys bound to it are gone and must be written again. */
export class LeaseLostError extends KvError {
  readonly code = "lease-lost";
  readonly retryable = true;
}

/** The client was closed by its owner; nothing more will be done with it. */
export class ClosedError extends KvError {
  readonly code = "closed";
  readonly retryable = false;
}

export function isKvError(e: unknown): e is KvError {
  return e instanceof KvError;
}
