import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  castGrpcError,
} from "etcd3";
import {
  ClosedError,
  CompactedError,
  LeaseLostError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnreachableError,
  isKvError,
} from "./errors.js";

/**
 * Turns what the etcd3 library (or gRPC underneath it) throws into the kvstore's typed errors.
 * etcd3 types some errors by class and leaves others as message text, so both are read here and
 * nowhere else. `where` names the endpoint and the operation, so the message says what failed.
 */
export function toKvError(error: unknown, where: string, compactRevision = 0): Error {
  if (isKvError(error)) return error;
  if (!(error instanceof Error)) return new UnreachableError(`${where}: ${String(error)}`, { cause: error });
  const e = error.constructor === Error ? castGrpcError(error) : error;
  const text = e.message;
  const detail = text.replace(/^\w+Error:\s*/, "").replace(/\s*Resolution note:\s*$/, "").replace(/\s+/g, " ").trim();
  const say = (what: string) => `${where}: ${what} (${detail})`;

  if (e instanceof ClientClosedError) return new ClosedError(`${where}: the client is closed`, { cause: e });
  if (e instanceof EtcdLeaseInvalidError || text.includes("requested lease not found")) {
    return new LeaseLostError(say("the lease is expired or revoked; grant a new lease and write the keys again"), { cause: e });
  }
  if (
    e instanceof EtcdAuthenticationFailedError ||
    e instanceof EtcdInvalidAuthTokenError ||
    e instanceof EtcdUserNotFoundError ||
    e instanceof GRPCUnauthenticatedError ||
    text.includes("authentication failed") ||
    text.includes("user name is empty")
  ) {
    return new UnauthenticatedError(say("etcd refused the credentials; check the username and password or client certificate"), { cause: e });
  }
  if (e instanceof EtcdPermissionDeniedError || text.includes("permission denied")) {
    return new PermissionDeniedError(say("permission denied: the etcd user's roles do not allow this"), { cause: e });
  }
  if (text.includes("required revision has been compacted")) {
    return new CompactedError(say("the revision asked for has been compacted; list again"), compactRevision, { cause: e });
  }
  // gRPC reports TLS failures as "unavailable"; the TLS alert inside says who refused whom.
  if (/alert (bad certificate|certificate required|unknown ca|certificate unknown|certificate revoked|certificate expired)/i.test(text)) {
    return new UnauthenticatedError(say("etcd refused the client certificate: it is missing, expired or not signed by the CA etcd trusts"), { cause: e });
  }
  if (/unable to verify|self[- ]signed|certificate has expired|does not match certificate|altnames|ERR_TLS|wrong version number|SSL routines/i.test(text)) {
    return new UnreachableError(say("TLS with etcd failed: its server certificate is not trusted by the configured CA, names another host, or the endpoint does not speak TLS"), { cause: e });
  }
  if (
    e instanceof GRPCUnavailableError ||
    e instanceof GRPCDeadlineExceededError ||
    e instanceof GRPCCancelledError ||
    (e as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true ||
    text.includes("no leader")
  ) {
    return new UnreachableError(say("etcd is unreachable or did not answer in time"), { cause: e });
  }
  return e;
}
