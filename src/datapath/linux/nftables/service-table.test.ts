/**
 * The service stage on a real namespace, watched at the nft command line: what it reads, and
 * what it sends for a change.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { DesiredNodeState, ServiceSpec } from "../../types.js";
import { KernelTools } from "../commands.js";
import { NetnsFixture } from "../netns-fixture.js";
import { planServices } from "./plan.js";
import { readServiceTable, ServiceTable } from "./service-table.js";
import { describeObject } from "../../objects.js";

const fixtures: NetnsFixture[] = [];
after(() => Promise.all(fixtures.map((f) => f.cleanup())));

/** KernelTools that record every nft call. */
class WatchedTools extends KernelTools {
  readonly scripts: string[] = [];
  reads = 0;
  override async nftListTable(family: string, name: string) {
    this.reads++;
    return super.nftListTable(family, name);
  }
  override async nftApply(script: string) {
    this.scripts.push(script);
    return super.nftApply(script);
  }
}

function service(i: number, activeBackends = 3): ServiceSpec {
  return {
    id: `default/svc-${i}`,
    protocol: "tcp",
    port: 80,
    clusterIP: `198.19.250.${i}`,
    backends: Array.from({ length: 3 }, (_, b) => ({ ip: `100.127.${1 + b}.${i}`, port: 8080, active: b < activeBackends })),
  };
}

async function node(): Promise<{ ns: string; tools: WatchedTools; state: (services: ServiceSpec[]) => DesiredNodeState }> {
  const f = await NetnsFixture.create();
  fixtures.push(f);
  const ns = await f.namespace("lb");
  const state = (services: ServiceSpec[]): DesiredNodeState => ({
    mode: "native",
    local: { name: "n1", cluster: "c1", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
    peers: [],
    endpoints: [],
    services,
  });
  return { ns, tools: new WatchedTools(ns), state };
}

const installed = async (ns: string) => (await readServiceTable(new KernelTools(ns))).map(describeObject).sort();
const planned = (state: DesiredNodeState) => planServices(state).map(describeObject).sort();

describe("Linux datapath: the service table's transactions", () => {
  test("one backend change is one transaction about that service alone, with no read of the table", async () => {
    const { ns, tools, state } = await node();
    const table = new ServiceTable(tools, 60_000);
    const services = Array.from({ length: 50 }, (_, i) => service(i + 1));
    await table.reconcile(table.prepare(state(services)));
    assert.equal(tools.reads, 1, "the first reconcile reads the table once");
    assert.equal(tools.scripts.length, 1, "the whole program is one transaction");

    services[9] = service(10, 2);
    const report = await table.reconcile(table.prepare(state(services)));
    assert.deepEqual(report.problems, []);
    assert.equal(tools.reads, 1, "no read between resyncs");
    assert.equal(tools.scripts.length, 2);
    const script = tools.scripts[1]!;
    const addresses = new Set(script.match(/198\.19\.250\.\d+/g));
    assert.deepEqual([...addresses], ["198.19.250.10"], script);
    assert.ok(script.split("\n").filter(Boolean).length <= 4, script);
    assert.deepEqual(await installed(ns), planned(state(services)));

    // Passing the same specs again sends nothing at all.
    await table.reconcile(table.prepare(state([...services])));
    assert.equal(tools.scripts.length, 2);
  });

  test("a transaction that fails because the table changed behind the agent's back is retried after reading it", async () => {
    const { ns, tools, state } = await node();
    const table = new ServiceTable(tools, 60_000);
    const services = [service(1), service(2)];
    await table.reconcile(table.prepare(state(services)));
    await new KernelTools(ns).nftApply("delete table ip trellis_lb\n");
    services[0] = service(1, 1);
    const report = await table.reconcile(table.prepare(state(services)));
    assert.deepEqual(report.problems, []);
    assert.equal(report.readTable, true);
    assert.equal(tools.reads, 2);
    assert.deepEqual(await installed(ns), planned(state(services)));
  });

  test("the periodic resync reads the table again and puts back what someone removed", async () => {
    const { ns, tools, state } = await node();
    const table = new ServiceTable(tools, 0);
    const services = [service(1), service(2)];
    await table.reconcile(table.prepare(state(services)));
    await new KernelTools(ns).nftApply("delete element ip trellis_lb tcp_backends { 198.19.250.2 . 80 . 1 }\n");
    const report = await table.reconcile(table.prepare(state(services)));
    assert.equal(report.readTable, true);
    assert.deepEqual(
      report.updated.map((u) => describeObject(u.from)),
      ["lb-frontend default/svc-2 clusterIP 198.19.250.2:80/tcp -> 100.127.1.2:8080 100.127.3.2:8080 [unexpected: slot 1 is missing]"],
    );
    assert.deepEqual(await installed(ns), planned(state(services)));
  });
});
