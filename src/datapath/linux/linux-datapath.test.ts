import { after } from "node:test";
import { datapathContract } from "../contract.js";
import { readActualState, trellisObjects } from "./actual-state.js";
import { KernelTools } from "./commands.js";
import { LinuxDatapath } from "./linux-datapath.js";
import { readServiceTable } from "./nftables/service-table.js";
import { NetnsFixture } from "./netns-fixture.js";

const fixtures: NetnsFixture[] = [];
after(() => Promise.all(fixtures.map((f) => f.cleanup())));

/** A node namespace with an uplink (MTU 1400) and three host veths, ip_forward off. */
datapathContract("linux", {
  async createNode() {
    const fixture = await NetnsFixture.create();
    fixtures.push(fixture);
    const ns = await fixture.namespace("node");
    const uplinkMtu = 1400;
    await fixture.ip(ns, "link", "add", "eth0", "mtu", String(uplinkMtu), "type", "veth", "peer", "name", "eth0-peer");
    await fixture.ip(ns, "address", "add", "198.18.250.11/24", "dev", "eth0");
    const endpointInterfaces = ["trl0c0ffee0001", "trl0c0ffee0002", "trl0c0ffee0003"];
    for (const [i, name] of endpointInterfaces.entries()) await fixture.ip(ns, "link", "add", name, "type", "veth", "peer", "name", `pod${i}`);
    for (const name of ["eth0", "eth0-peer", ...endpointInterfaces, "pod0", "pod1", "pod2"]) await fixture.ip(ns, "link", "set", "dev", name, "up");
    await fixture.exec(ns, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=0"]);
    return {
      datapath: new LinuxDatapath({ netns: ns }),
      restart: () => new LinuxDatapath({ netns: ns }),
      local: { name: "node-1", cluster: "c1", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
      uplinkMtu,
      peerNodeIPs: ["198.18.250.12", "198.18.250.13", "198.18.250.14", "198.18.250.15"],
      endpointInterfaces,
      installed: async () => {
        const tools = new KernelTools(ns);
        return [...trellisObjects(await readActualState(tools)), ...(await readServiceTable(tools))];
      },
      cleanup: async () => {
        await fixture.cleanup();
        fixtures.splice(fixtures.indexOf(fixture), 1);
      },
    };
  },
});
