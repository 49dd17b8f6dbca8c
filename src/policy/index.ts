export {
  CCNP_KIND,
  CNP_KIND,
  ENTITIES,
  POLICY_API_VERSION,
  policyName,
  type Direction,
  type EndpointSelector,
  type Entity,
  type NetworkPolicy,
  type PeerRule,
  type PolicyKind,
  type PolicyRule,
  type PortProtocol,
  type PortProtocolName,
  type PortRule,
  type Section,
  type SelectorExpression,
  type SelectorOperator,
} from "./model.js";
export { isPolicyDocument, parseNetworkPolicy, parsePolicyManifests } from "./cnp.js";
export {
  SOURCE_ANY,
  formatSelector,
  isWildcardSelector,
  normalizeSelectorKey,
  scopePeerSelector,
  scopeSubjectSelector,
  selectorMatches,
  selectorNamesCluster,
  type PeerScope,
} from "./selector.js";
export { entityMatches, entitySelectors } from "./entities.js";
export {
  ANY_IDENTITY,
  ANY_PORT,
  ANY_PROTOCOL,
  PROTOCOL_NUMBERS,
  describeKey,
  keyCovers,
  keyRanges,
  parsePolicyKey,
  policyKey,
  protocolName,
  type FlowProtocol,
  type KeyRanges,
  type PolicyKey,
  type PolicyKeyParts,
} from "./policy-key.js";
export { compilePolicies, describeOrigin, type CompiledRule, type ResolveOptions, type RuleOrigin } from "./compile.js";
export {
  PolicyResolver,
  reservedIdentityLabels,
  resolveEndpointPolicy,
  type DirectionPolicy,
  type EndpointPolicy,
  type IdentityCache,
} from "./resolve.js";
export { endpointsAffectedByIdentity, endpointsAffectedByPolicy, type LabelledEndpoint } from "./affected.js";
export { decide, decideFlow, explainDecision, type Decision, type DecisionReason, type Flow, type FlowDecision, type Verdict } from "./decide.js";
export {
  formatTrace,
  traceFlow,
  type DirectionTrace,
  type FlowTrace,
  type ItemTrace,
  type PolicyContext,
  type RuleTrace,
  type TraceEndpoint,
  type TraceRequest,
} from "./trace.js";
