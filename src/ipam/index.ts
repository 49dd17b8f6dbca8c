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
