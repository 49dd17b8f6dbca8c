/**
 * Numeric frontend IDs, as Cilium gives its services: an ID is allocated the first time a
 * frontend is seen, kept for as long as it exists, and only then released. New IDs continue
 * upwards from the last one handed out, so a released ID is not handed out again until the range
 * wraps; a listing taken before and after a change names the same frontend with the same number.
 */

export const FIRST_SERVICE_ID = 1;
/** Cilium's service IDs are 16 bits wide. */
export const MAX_SERVICE_ID = 0xffff;

export class ServiceIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServiceIdError";
  }
}

export interface ServiceIdAllocatorOptions {
  readonly first?: number;
  readonly max?: number;
  /** IDs handed out before (e.g. by an earlier run of the agent), kept as they were. */
  readonly restore?: Iterable<readonly [string, number]>;
}

export class ServiceIdAllocator {
  private readonly first: number;
  private readonly max: number;
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next: number;

  constructor(options: ServiceIdAllocatorOptions = {}) {
    this.first = options.first ?? FIRST_SERVICE_ID;
    this.max = options.max ?? MAX_SERVICE_ID;
    if (!Number.isInteger(this.first) || !Number.isInteger(this.max) || this.first < 1 || this.max < this.first) {
      throw new ServiceIdError(`service ID range must be whole numbers with 1 <= first <= max (got first=${String(options.first)}, max=${String(options.max)})`);
    }
    this.next = this.first;
    for (const [key, id] of options.restore ?? []) this.restore(key, id);
  }

  /** The ID of `key`, allocating one if it has none. */
  acquire(key: string): number {
    const had = this.byKey.get(key);
    if (had !== undefined) return had;
    const size = this.max - this.first + 1;
    if (this.byId.size >= size) throw new ServiceIdError(`all ${size} service IDs (${this.first}-${this.max}) are in use; cannot add frontend ${key}`);
    let id = this.next;
    while (this.byId.has(id)) id = id === this.max ? this.first : id + 1;
    this.byKey.set(key, id);
    this.byId.set(id, key);
    this.next = id === this.max ? this.first : id + 1;
    return id;
  }

  idOf(key: string): number | undefined {
    return this.byKey.get(key);
  }

  release(key: string): void {
    const id = this.byKey.get(key);
    if (id === undefined) return;
    this.byKey.delete(key);
    this.byId.delete(id);
  }

  /** Every key with its ID, in ID order. */
  entries(): [string, number][] {
    return [...this.byKey.entries()].sort((a, b) => a[1] - b[1]);
  }

  get size(): number {
    return this.byKey.size;
  }

  private restore(key: string, id: number): void {
    if (!Number.isInteger(id) || id < this.first || id > this.max) throw new ServiceIdError(`cannot restore service ID ${String(id)} for ${key}: IDs run from ${this.first} to ${this.max}`);
    const holder = this.byId.get(id);
    if (holder !== undefined && holder !== key) throw new ServiceIdError(`cannot restore service ID ${id} for ${key}: it is already ${holder}'s`);
    if (this.byKey.has(key) && this.byKey.get(key) !== id) throw new ServiceIdError(`cannot restore ${key} as service ID ${id}: it already has ID ${this.byKey.get(key)}`);
    this.byKey.set(key, id);
    this.byId.set(id, key);
    // Continue after the highest restored ID, as a fresh run would have.
    if (id >= this.next) this.next = id === this.max ? this.first : id + 1;
  }
}
