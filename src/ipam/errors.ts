/**
 * IPAM errors. Callers (the agent's API) branch on the class to pick a status code: bad input is
 * the caller's fault, exhaustion and conflicts are states of the pool, state-file and lock errors
 * are the host's.
 */
export abstract class IpamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An argument was malformed: not an IPv4 address, an empty owner, a CIDR too small to use. */
export class InvalidIpamInputError extends IpamError {}

/** Every assignable address of the CIDR is held. */
export class CidrExhaustedError extends IpamError {
  constructor(
    readonly cidr: string,
    readonly inUse: number,
    readonly reserved: number,
  ) {
    super(
      `pod CIDR ${cidr} is exhausted: ${inUse} addresses in use and ${reserved} reserved; ` +
        `release addresses of deleted pods or give the node a larger pod CIDR`,
    );
  }
}

/** A specific address was asked for but cannot be given: outside the CIDR, reserved, or held by another owner. */
export class IpUnavailableError extends IpamError {
  constructor(
    readonly ip: string,
    readonly reason: "outside-cidr" | "reserved" | "in-use",
    message: string,
  ) {
    super(message);
  }
}

/** The owner already holds a different address; an owner holds at most one. */
export class OwnerConflictError extends IpamError {
  constructor(
    readonly owner: string,
    readonly heldIp: string,
    readonly requestedIp: string,
  ) {
    super(`owner "${owner}" already holds ${heldIp}, cannot also take ${requestedIp}; release it first`);
  }
}

/** The state file cannot be read, parsed, or belongs to a different CIDR. */
export class IpamStateError extends IpamError {}

/** Another process held the state file's lock for longer than we were willing to wait. */
export class IpamLockTimeoutError extends IpamError {}
