export { runPlugin, type PluginOutcome } from "./plugin.js";
export { hostVethName } from "./netns-veth.js";
export { AgentClient, AgentHttpError, AgentProtocolError, AgentUnreachableError } from "./agent-client.js";
export { DEFAULT_AGENT_SOCKET, type NetConfig } from "./config.js";
export { SUPPORTED_VERSIONS, ErrorCode, CniError } from "./result.js";
