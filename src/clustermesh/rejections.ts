import type { RecordError } from "../state/index.js";
import type { RejectionCounts } from "./status.js";

/**
 * Counts refused remote records by reason. Every reconnect lists a peer's state again: a record
 * refused before and unchanged since is not counted again.
 */
export class RejectionCounter {
  private readonly counts: RejectionCounts = {};
  private readonly refused = new Map<string, Buffer>();

  refuse(key: string, value: Buffer, error: RecordError): void {
    if (this.refused.get(key)?.equals(value)) return;
    this.refused.set(key, value);
    this.counts[error.reason] = (this.counts[error.reason] ?? 0) + 1;
  }

  accept(key: string): void {
    this.refused.delete(key);
  }

  snapshot(): RejectionCounts {
    return { ...this.counts };
  }
}
