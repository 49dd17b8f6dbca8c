import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { removeLeftoverTempFiles, writeFileAtomic } from "../util/atomic-file.js";
import { cidrContains, formatIpv4, isIpv4, parseCidr, parseIpv4, type Cidr } from "../util/ipv4.js";
import {
  CidrExhaustedError,
  InvalidIpamInputError,
  IpamStateError,
  IpUnavailableError,
  OwnerConflictError,
} from "./errors.js";
import { withFileLock } from "./file-lock.js";

export interface IpAllocatorOptions {
  /** The node's pod CIDR, e.g. "100.65.1.0/24" (prefix 30 or shorter). */
  readonly cidr: string;
  /** Where allocations live; created on first open. Its directory must be on local disk. */
  readonly stateFile: string;
  /** Addresses never handed out by `allocate` besides network, router (.1) and broadcast, e.g. the health endpoint IP. */
  readonly reserved?: readonly string[];
  /** How long to wait for another process holding the state file (default 10 s). */
  readonly lockTimeoutMs?: number;
}

export interface Allocation {
  readonly ip: string;
  readonly owner: string;
  /** ISO time of the allocation. */
  readonly allocatedAt: string;
}

export interface PoolUsage {
  readonly cidr: string;
  /** Addresses `allocate` can hand out when nothing is held: the CIDR minus reserved ones. */
  readonly capacity: number;
  readonly inUse: number;
  readonly free: number;
  readonly reserved: readonly string[];
}

/** The state file's shape. `lastAllocated` makes round robin survive a restart. */
interface StateFile {
  version: 1;
  cidr: string;
  lastAllocated: string | null;
  allocations: Allocation[];
}

const STATE_VERSION = 1;
const MAX_OWNER_LENGTH = 512;

/**
 * Hands out the addresses of one node's pod CIDR, one per owner (the CNI plugin uses
 * "<containerID>/<ifName>"). Every change is written to the state file before it is returned, so an
 * address once handed out stays held across restarts and crashes until released.
 *
 * Each operation takes the state file's lock, re-reads the file, and writes it back atomically. The
 * agent is the only writer by design, but re-reading under a cross-process lock makes a second
 * instance (an agent restarting while the old one still drains, a debugging tool) safe rather than
 * merely unlikely, at the price of one small file read per operation.
 *
 * After the last address handed out, the search continues upward and wraps around (round robin),
 * so a released address is not reused at once: a peer still caching the old pod's address then
 * does not reach a new pod by mistake.
 */
export class IpAllocator {
  readonly cidr: string;
  /** The node's router IP: the CIDR's first host address, never handed out. */
  readonly routerIp: string;
  readonly stateFile: string;
  private readonly block: Cidr;
  private readonly reservedSet: ReadonlySet<number>;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number | undefined;
  /** Serialises this instance's operations so they do not contend for the file lock among themselves. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(options: IpAllocatorOptions, block: Cidr, reserved: ReadonlySet<number>) {
    this.block = block;
    this.cidr = block.text;
    this.routerIp = formatIpv4(block.network + 1);
    this.stateFile = options.stateFile;
    this.reservedSet = reserved;
    this.lockPath = `${options.stateFile}.lock`;
    this.lockTimeoutMs = options.lockTimeoutMs;
  }

  /**
   * Validates the options and opens (or creates) the state file. A state file recorded for a
   * different CIDR is refused: reusing it could hand out an address a pod of the old CIDR still has.
   */
  static async open(options: IpAllocatorOptions): Promise<IpAllocator> {
    let block: Cidr;
    try {
      block = parseCidr(options.cidr);
    } catch (e) {
      throw new InvalidIpamInputError(`invalid pod CIDR: ${(e as Error).message}`);
    }
    if (block.prefixLength > 30) {
      throw new InvalidIpamInputError(
        `pod CIDR ${block.text} is too small: network, router and broadcast addresses are reserved, ` +
          `so at least a /30 is needed (a /24 is usual)`,
      );
    }
    if (typeof options.stateFile !== "string" || options.stateFile === "") {
      throw new InvalidIpamInputError(`IPAM state file path must be a non-empty string, got ${JSON.stringify(options.stateFile)}`);
    }
    const reserved = new Set([block.network, block.network + 1, block.broadcast]);
    for (const text of options.reserved ?? []) {
      const ip = parseIpOrThrow(text, "reserved address");
      if (!cidrContains(block, ip)) {
        throw new InvalidIpamInputError(`reserved address ${text} is outside pod CIDR ${block.text}`);
      }
      reserved.add(ip);
    }
    const allocator = new IpAllocator(options, block, reserved);
    await mkdir(dirname(options.stateFile), { recursive: true });
    await allocator.mutate((state) => ({ state, value: undefined }), { cleanTemps: true });
    return allocator;
  }

  /** The owner's address; allocates the next free one if it has none. Same owner, same address. */
  async allocate(owner: string): Promise<Allocation> {
    checkOwner(owner);
    return this.mutate((state) => {
      const held = state.allocations.find((a) => a.owner === owner);
      if (held) return { state, value: held };
      const ip = this.nextFree(state);
      const allocation: Allocation = { ip: formatIpv4(ip), owner, allocatedAt: new Date().toISOString() };
      return { state: withAllocation(state, allocation, true), value: allocation, changed: true };
    });
  }

  /** Gives `ip` to `owner` (e.g. the health endpoint's address). Idempotent for the same pair. */
  async allocateSpecific(ip: string, owner: string): Promise<Allocation> {
    checkOwner(owner);
    const value = parseIpOrThrow(ip, "address");
    const text = formatIpv4(value);
    if (!cidrContains(this.block, value)) {
      throw new IpUnavailableError(text, "outside-cidr", `${text} is outside pod CIDR ${this.cidr}`);
    }
    if (this.isAlwaysReserved(value)) {
      throw new IpUnavailableError(text, "reserved", `${text} is the ${this.reservedRole(value)} of pod CIDR ${this.cidr} and cannot be allocated`);
    }
    return this.mutate((state) => {
      const holder = state.allocations.find((a) => a.ip === text);
      if (holder?.owner === owner) return { state, value: holder };
      if (holder) {
        throw new IpUnavailableError(text, "in-use", `${text} is already allocated to "${holder.owner}" (since ${holder.allocatedAt})`);
      }
      const mine = state.allocations.find((a) => a.owner === owner);
      if (mine) throw new OwnerConflictError(owner, mine.ip, text);
      const allocation: Allocation = { ip: text, owner, allocatedAt: new Date().toISOString() };
      // A specific request does not move the round-robin cursor: it was not the allocator's choice.
      return { state: withAllocation(state, allocation, false), value: allocation, changed: true };
    });
  }

  /** Frees the owner's address; returns what was freed, or undefined when the owner held nothing. */
  async release(owner: string): Promise<Allocation | undefined> {
    checkOwner(owner);
    return this.mutate((state) => {
      const held = state.allocations.find((a) => a.owner === owner);
      if (!held) return { state, value: undefined };
      return { state: { ...state, allocations: state.allocations.filter((a) => a !== held) }, value: held, changed: true };
    });
  }

  /** The owner's current allocation, if any. */
  async get(owner: string): Promise<Allocation | undefined> {
    return (await this.read()).allocations.find((a) => a.owner === owner);
  }

  /** Every allocation, ordered by address. */
  async list(): Promise<Allocation[]> {
    return [...(await this.read()).allocations];
  }

  async usage(): Promise<PoolUsage> {
    const state = await this.read();
    const capacity = this.block.size - this.reservedSet.size;
    const inUse = state.allocations.length;
    const heldReserved = state.allocations.filter((a) => this.reservedSet.has(parseIpv4(a.ip))).length;
    return {
      cidr: this.cidr,
      capacity,
      inUse,
      free: capacity - (inUse - heldReserved),
      reserved: [...this.reservedSet].sort((a, b) => a - b).map(formatIpv4),
    };
  }

  private nextFree(state: StateFile): number {
    const used = new Set(state.allocations.map((a) => parseIpv4(a.ip)));
    const last = state.lastAllocated === null ? this.block.network : parseIpv4(state.lastAllocated);
    const start = cidrContains(this.block, last) ? last : this.block.network;
    for (let step = 1; step <= this.block.size; step++) {
      const candidate = this.block.network + ((start - this.block.network + step) % this.block.size);
      if (!this.reservedSet.has(candidate) && !used.has(candidate)) return candidate;
    }
    const heldReserved = state.allocations.filter((a) => this.reservedSet.has(parseIpv4(a.ip))).length;
    throw new CidrExhaustedError(this.cidr, state.allocations.length, this.reservedSet.size - heldReserved);
  }

  private isAlwaysReserved(ip: number): boolean {
    return ip === this.block.network || ip === this.block.network + 1 || ip === this.block.broadcast;
  }

  private reservedRole(ip: number): string {
    if (ip === this.block.network) return "network address";
    if (ip === this.block.broadcast) return "broadcast address";
    return "router IP";
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private read(): Promise<StateFile> {
    // Writers replace the file by rename, so a lock-free read still sees one whole version.
    return this.enqueue(() => this.load());
  }

  private mutate<T>(
    change: (state: StateFile) => { state: StateFile; value: T; changed?: boolean },
    options: { cleanTemps?: boolean } = {},
  ): Promise<T> {
    return this.enqueue(() =>
      withFileLock(
        this.lockPath,
        async () => {
          if (options.cleanTemps) await removeLeftoverTempFiles(this.stateFile);
          const current = await this.load();
          const created = current === EMPTY;
          const { state, value, changed } = change(created ? this.emptyState() : current);
          if (changed || created) await writeFileAtomic(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
          return value;
        },
        this.lockTimeoutMs === undefined ? {} : { timeoutMs: this.lockTimeoutMs },
      ),
    );
  }

  private emptyState(): StateFile {
    return { version: STATE_VERSION, cidr: this.cidr, lastAllocated: null, allocations: [] };
  }

  private async load(): Promise<StateFile> {
    let text: string;
    try {
      text = await readFile(this.stateFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY;
      throw new IpamStateError(`cannot read IPAM state file ${this.stateFile}: ${(e as Error).message}`, { cause: e });
    }
    return this.validate(text);
  }

  /**
   * A damaged state file is refused, never reset: starting empty could hand out an address a
   * running pod still has.
   */
  private validate(text: string): StateFile {
    const refuse = (why: string): never => {
      throw new IpamStateError(
        `IPAM state file ${this.stateFile} is unusable: ${why}. Refusing to guess which addresses are in use; ` +
          `restore the file, or delete it once no pod of ${this.cidr} is running on this node`,
      );
    };
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return refuse(`not valid JSON (${(e as Error).message})`);
    }
    if (typeof raw !== "object" || raw === null) return refuse("not a JSON object");
    const s = raw as Partial<StateFile>;
    if (s.version !== STATE_VERSION) return refuse(`unknown version ${JSON.stringify(s.version)} (expected ${STATE_VERSION})`);
    if (s.cidr !== this.cidr) {
      throw new IpamStateError(
        `IPAM state file ${this.stateFile} belongs to pod CIDR ${String(s.cidr)}, not ${this.cidr}; ` +
          `if this node's pod CIDR really changed, delete the file once no pod of the old CIDR is running`,
      );
    }
    if (!Array.isArray(s.allocations)) return refuse(`"allocations" is not a list`);
    const ips = new Set<string>();
    const owners = new Set<string>();
    for (const a of s.allocations as unknown[]) {
      const entry = a as Partial<Allocation> | null;
      if (!entry || typeof entry.ip !== "string" || typeof entry.owner !== "string" || typeof entry.allocatedAt !== "string") {
        return refuse(`malformed allocation ${JSON.stringify(a)}`);
      }
      let value: number;
      try {
        value = parseIpv4(entry.ip);
      } catch {
        return refuse(`allocation with invalid address ${JSON.stringify(entry.ip)}`);
      }
      if (!cidrContains(this.block, value)) return refuse(`allocation ${entry.ip} is outside ${this.cidr}`);
      if (ips.has(entry.ip)) return refuse(`${entry.ip} is allocated twice`);
      if (owners.has(entry.owner)) return refuse(`owner "${entry.owner}" holds two addresses`);
      ips.add(entry.ip);
      owners.add(entry.owner);
    }
    if (s.lastAllocated !== null && (typeof s.lastAllocated !== "string" || !isIpv4(s.lastAllocated))) {
      return refuse(`"lastAllocated" is ${JSON.stringify(s.lastAllocated)}`);
    }
    return { version: STATE_VERSION, cidr: s.cidr, lastAllocated: s.lastAllocated ?? null, allocations: s.allocations as Allocation[] };
  }
}

/** Marks "no state file yet" without allocating a fresh object per read. */
const EMPTY: StateFile = Object.freeze({ version: STATE_VERSION, cidr: "", lastAllocated: null, allocations: [] }) as StateFile;

function withAllocation(state: StateFile, allocation: Allocation, moveCursor: boolean): StateFile {
  const allocations = [...state.allocations, allocation].sort((a, b) => parseIpv4(a.ip) - parseIpv4(b.ip));
  return { ...state, allocations, lastAllocated: moveCursor ? allocation.ip : state.lastAllocated };
}

function checkOwner(owner: string): void {
  if (typeof owner !== "string" || owner.trim() === "" || owner.length > MAX_OWNER_LENGTH) {
    throw new InvalidIpamInputError(
      `IPAM owner must be a non-empty string of at most ${MAX_OWNER_LENGTH} characters (e.g. "<containerID>/<ifName>"), got ${JSON.stringify(owner)}`,
    );
  }
}

function parseIpOrThrow(text: string, what: string): number {
  try {
    return parseIpv4(text);
  } catch (e) {
    throw new InvalidIpamInputError(`invalid ${what}: ${(e as Error).message}`);
  }
}
