import { test } from "node:test";
import assert from "node:assert/strict";
import { logLevelFromEnv } from "./logger.js";

test("TRELLIS_LOG_LEVEL: unset means info, case does not matter, a typo names the accepted levels", () => {
  assert.equal(logLevelFromEnv(undefined), "info");
  assert.equal(logLevelFromEnv(""), "info");
  assert.equal(logLevelFromEnv("DEBUG"), "debug");
  assert.throws(() => logLevelFromEnv("verbose"), /TRELLIS_LOG_LEVEL="verbose" is not a log level; use one of fatal, error, warn, info, debug, trace, silent/);
});
