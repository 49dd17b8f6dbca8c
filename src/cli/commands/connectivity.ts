import type { Command } from "commander";
import { DEFAULT_CASES, type CasePolicy } from "../../connectivity/cases.js";
import { parseTestFilter, selects, TestFilterError } from "../../connectivity/filter.js";
import { planTest, type TestEnv } from "../../connectivity/plan.js";
import { exitCode, formatHeader, formatSummary, formatTestResult, resultsJson, summarize } from "../../connectivity/report.js";
import { runTests, type Executor } from "../../connectivity/runner.js";
import { ConnectivitySetupError, changeTestPolicies, deployTestWorkloads, removeTestWorkloads, TEST_NAMESPACE, type TestCluster } from "../../connectivity/workloads.js";
import { planCluster } from "../../lab/address-plan.js";
import { readLabRecord } from "../../lab/lab-record.js";
import type { ServiceModel } from "../../services/service-list-format.js";
import { run } from "../../util/exec.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { connect, type ClusterConnection } from "../cluster-connection.js";
import { parseDuration } from "../duration.js";
import { parseOutputFormat } from "../output.js";
import { UserError } from "../user-error.js";

interface Options {
  context?: string;
  multiCluster?: string;
  test?: string[];
  output?: string;
  waitDuration: string;
}

/** The lab names node namespaces after the cluster's index (found by the context's cluster, as `lab up` wrote it); elsewhere there is no node namespace to enter. */
function labNodeNetns(cluster: string): (node: string) => string | undefined {
  const entry = readLabRecord()?.clusters.find((c) => c.name === cluster);
  if (!entry) return () => undefined;
  const plan = planCluster(entry.index, entry.nodes, entry.name, entry.id);
  return (node) => plan.nodes.find((n) => n.name === node)?.netns;
}

async function testCluster(c: ClusterConnection): Promise<TestCluster> {
  const settings = await c.settings();
  return {
    name: settings.name,
    store: c.store,
    serviceTables: () => Promise.all(agentSockets(c.context).map((a) => agentGet<ServiceModel[]>(a.socket, "/v1/services"))),
    nodeNetns: labNodeNetns(c.context.context.cluster),
    policyStatus: async () =>
      Promise.all(
        agentSockets(c.context).map(async (a) => {
          const st = await agentGet<{ node: string; policy?: { revision: number; pending: boolean } }>(a.socket, "/v1/status");
          if (!st.policy) throw new Error(`the agent of ${st.node} reports no policy engine; is it older than this CLI?`);
          return { node: st.node, revision: st.policy.revision, pending: st.policy.pending };
        }),
      ),
    podServing: async (pod, port) => {
      if (!pod.netns) return true; // nothing to enter: the tests will tell
      const r = await run("ip", ["netns", "exec", pod.netns, "curl", "-s", "-o", "/dev/null", "-m", "1", `http://127.0.0.1:${port}/`], { timeoutMs: 3000, allowFailure: true });
      return r.code === 0;
    },
  };
}

const execute: Executor = async (source, argv, timeoutMs) => {
  const [cmd, args] = source.netns ? ["ip", ["netns", "exec", source.netns, ...argv]] : [argv[0]!, argv.slice(1)];
  return run(cmd, args, { timeoutMs, allowFailure: true });
};

/** `trellis connectivity test` (cilium connectivity test): deploys its own workloads, probes, cleans up. */
export function registerConnectivityCommands(program: Command): void {
  const connectivity = program.command("connectivity").description("Check that pods, services and nodes reach each other (cilium connectivity test)");
  connectivity
    .command("test")
    .description("Deploy client and echo workloads into namespace trellis-test, run the tests, remove the workloads")
    .option("--context <name>", "the cluster whose client runs the tests")
    .option("--multi-cluster <context>", "a second cluster: echo pods and a global service there, tested from the first")
    .option("--test <pattern...>", "run only tests whose name matches (regular expression or substring); !pattern excludes; repeatable or comma-separated")
    .option("--wait-duration <duration>", "how long to wait for the workloads to become ready, and to go away", "2m")
    .option("-o, --output <format>", "json: a machine-readable result on stdout (progress goes to stderr)")
    .action(async (o: Options) => {
      const format = parseOutputFormat(o.output, ["table", "json"]);
      const waitMs = parseDuration(o.waitDuration, "--wait-duration");
      let filter;
      try {
        filter = parseTestFilter(o.test ?? []);
      } catch (e) {
        if (e instanceof TestFilterError) throw new UserError(e.message);
        throw e;
      }
      const cases = DEFAULT_CASES.filter((c) => selects(filter, c.name));
      if (cases.length === 0) throw new UserError(`--test ${(o.test ?? []).join(" ")} matches none of the tests: ${DEFAULT_CASES.map((c) => c.name).join(", ")}`);
      const json = format === "json";
      const say = (s: string) => (json ? process.stderr : process.stdout).write(s);
      const progress = (line: string) => say(`${line}\n`);

      const conns: ClusterConnection[] = [connect(o.context)];
      if (o.multiCluster) conns.push(connect(o.multiCluster));
      const clusters: TestCluster[] = [];
      // An interrupted run still removes what it deployed (the next run would, too).
      const onSignal = () => {
        progress("\n🛑 Interrupted: removing the test workloads...");
        void Promise.allSettled(clusters.map((c) => removeTestWorkloads(c, waitMs, progress))).finally(() => process.exit(130));
      };
      process.once("SIGINT", onSignal);
      try {
        for (const c of conns) clusters.push(await testCluster(c));
        const [local, remote] = clusters as [TestCluster, TestCluster | undefined];
        if (remote && remote.name === local.name) throw new UserError(`--multi-cluster ${o.multiCluster} is the same cluster as --context (${local.name}): name the other cluster's context`);
        const names = clusters.map((c) => c.name);
        say(formatHeader({ clusters: names, namespace: TEST_NAMESPACE, tests: cases.length }));
        for (const c of clusters) if (await removeTestWorkloads(c, waitMs, progress)) progress(`🧹 [${c.name}] Removed the leftovers of an earlier run`);
        let results;
        try {
          const deployed = await deployTestWorkloads(local, remote, waitMs, progress);
          const env: TestEnv = { namespace: TEST_NAMESPACE, ...deployed };
          const policyClusters = { local: local.name, remote: remote?.name ?? "" };
          const changeAll = async (change: "apply" | "remove", ps: readonly CasePolicy[]) => {
            await changeTestPolicies(local, change, ps.filter((p) => p.cluster === "local"), policyClusters, waitMs, progress);
            if (remote) await changeTestPolicies(remote, change, ps.filter((p) => p.cluster === "remote"), policyClusters, waitMs, progress);
          };
          progress(`🏃 Running ${cases.length} test(s)...`);
          results = await runTests(
            cases.map((c) => planTest(c, env)),
            execute,
            {
              concurrency: 3,
              onTest: (r) => say(formatTestResult(r)),
              policies: remote
                ? {
                    apply: (ps) => changeAll("apply", ps),
                    remove: (ps) => changeAll("remove", ps),
                  }
                : undefined,
            },
          );
        } catch (e) {
          if (e instanceof ConnectivitySetupError) throw new UserError(`setting up the connectivity test failed: ${e.message}`);
          throw e;
        } finally {
          for (const c of clusters) await removeTestWorkloads(c, waitMs, progress).catch((e: Error) => progress(`⚠️  [${c.name}] could not remove the test workloads: ${e.message}; run the test again to clean up`));
        }
        if (json) process.stdout.write(JSON.stringify(resultsJson({ clusters: names, namespace: TEST_NAMESPACE }, results), null, 2) + "\n");
        else say(formatSummary(results));
        process.exitCode = exitCode(summarize(results));
      } finally {
        process.removeListener("SIGINT", onSignal);
        await Promise.all(conns.map((c) => c.close()));
      }
    });
}
