import type { TestEnv } from "../plan.js";

/** A 2 × 2 mesh as the connectivity test finds it after deploying: the client on cluster-1/node-1. */
export const ENV: TestEnv = {
  namespace: "trellis-test",
  local: {
    name: "cluster-1",
    client: { name: "client-a", node: "node-1", ip: "100.65.0.4", netns: "pod-client" },
    nodes: [
      { name: "node-1", ip: "198.18.1.11", netns: "trl-c1-n1" },
      { name: "node-2", ip: "198.18.1.12", netns: "trl-c1-n2" },
    ],
    echo: [
      { name: "echo-1", node: "node-1", ip: "100.65.0.3" },
      { name: "echo-2", node: "node-2", ip: "100.65.1.3" },
    ],
    services: { echo: { port: 80, clusterIP: "198.19.1.2", loadBalancerIP: "198.19.1.130", nodePort: 30001 }, "echo-remote": { port: 80, clusterIP: "198.19.1.3" } },
  },
  remote: {
    name: "cluster-2",
    nodes: [{ name: "node-1", ip: "198.18.2.11" }],
    echo: [
      { name: "echo-x", node: "node-1", ip: "100.66.0.3" },
      { name: "echo-y", node: "node-2", ip: "100.66.1.3" },
    ],
    services: {},
  },
};
