export { IpAllocator, type IpAllocatorOptions, type Allocation, type PoolUsage } from "./allocator.js";
export {
  IpamError,
  InvalidIpamInputError,
  CidrExhaustedError,
  IpUnavailableError,
  OwnerConflictError,
  IpamStateError,
  IpamLockTimeoutError,
} from "./errors.js";
export { parseIpv4, formatIpv4, isIpv4, parseIpv4Cidr, cidrContains, type Ipv4Cidr } from "./ipv4.js";
