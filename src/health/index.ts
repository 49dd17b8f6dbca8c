/** The health checker: servers that answer `GET /hello`, the per-node health endpoint, the prober, and its report. */
export { diagnose, type DiagnoseOptions, type HealthHint, type HintCode } from "./diagnose.js";
export { formatGoDuration } from "./go-duration.js";
export {
  HEALTH_ENDPOINT_IFNAME,
  HealthEndpoint,
  HealthEndpointError,
  type HealthEndpointSpec,
  type HealthEndpointStatus,
  type ResponderCommand,
} from "./health-endpoint.js";
export { HealthServer, HealthServerError, helloHandler, type HealthServerOptions, type HelloBody, type HelloRole } from "./health-server.js";
export { httpHello, type HttpProbeOptions } from "./http-probe.js";
export { ICMP_TIMEOUT_MESSAGE, parsePingRtt, pingOnce, type PingOptions } from "./icmp-probe.js";
export {
  DEFAULT_PROBE_CONCURRENCY,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  HealthProber,
  type HealthProberOptions,
  type HttpProbe,
  type IcmpProbe,
} from "./prober.js";
export { parseResponderArgv, responderArgv, runResponder, type ResponderArgs } from "./responder.js";
export { healthStatusJson, type ConnectivityStatusJson, type HealthStatusJson, type NodeStatusJson, type PathStatusJson } from "./status-json.js";
export { formatHealthStatus, formatHints, formatProbeTime, nodeIsHealthy, orderedNodes, outcomeText, pathIsHealthy, type StatusFormatOptions } from "./status-format.js";
export { tabwrite, type TabwriterOptions } from "./tabwriter.js";
export { HEALTH_PORT, targetName, type HealthIdentity, type HealthReport, type HealthTarget, type PathResult, type ProbeOutcome, type TargetResult } from "./types.js";
