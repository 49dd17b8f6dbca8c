import assert from "node:assert/strict";
import { RecordError, type DecodeResult, type RecordErrorReason } from "../record-error.js";

/** Asserts a decode succeeded and returns the record. */
export function accepted<T>(result: DecodeResult<T>): T {
  if (!result.ok) assert.fail(`expected the record to be accepted, got ${result.error.reason}: ${result.error.message}`);
  return result.record;
}

/** Asserts a decode was refused for `reason`, and that the message matches `message` when given. */
export function refused<T>(result: DecodeResult<T>, reason: RecordErrorReason, message?: RegExp): RecordError {
  if (result.ok) assert.fail(`expected a refusal (${reason}), got ${JSON.stringify(result.record)}`);
  assert.ok(result.error instanceof RecordError);
  assert.equal(result.error.reason, reason, result.error.message);
  if (message) assert.match(result.error.message, message);
  return result.error;
}

/** Replaces the first occurrence of `from` in `text`, failing when it is not there. */
export function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `golden value lacks ${from}`);
  return text.replace(from, to);
}
