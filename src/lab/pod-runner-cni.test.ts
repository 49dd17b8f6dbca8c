/**
 * The runtime side of the CNI protocol, checked against a stand-in plugin that records the
 * environment and stdin it was given and answers what the test tells it to.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CniInvocationError, CniRuntime, CniSettingsError, trellisNetConfig } from "./pod-runner-cni.js";

let dir: string;
let binDir: string;
const netConfig = trellisNetConfig("/var/run/trellis/agent.sock");
const ref = { containerId: "c0ffee".repeat(10) + "0000", netnsPath: "/run/netns/trl-c1-pod-12345678", podNamespace: "shop", podName: "web-1" };
const addResult = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "trl0123456789a", mac: "02:00:00:00:00:01" }, { name: "eth0", mac: "02:00:00:00:00:02", sandbox: ref.netnsPath }],
  ips: [{ address: "100.65.1.9/32", gateway: "100.65.1.1", interface: 1 }],
  routes: [{ dst: "0.0.0.0/0", gw: "100.65.1.1" }],
  dns: {},
};

async function answer(stdout: string, exitCode: number, stderr = ""): Promise<void> {
  await writeFile(join(binDir, "reply"), stdout);
  await writeFile(join(binDir, "reply-err"), stderr);
  await writeFile(join(binDir, "exit"), String(exitCode));
}

async function seen(command: string): Promise<{ env: Record<string, string>; stdin: unknown }> {
  const env = Object.fromEntries(
    (await readFile(join(binDir, `env.${command}`), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { env, stdin: JSON.parse(await readFile(join(binDir, `stdin.${command}`), "utf8")) };
}

function runtime(extra: Partial<ConstructorParameters<typeof CniRuntime>[0]> = {}): CniRuntime {
  return new CniRuntime({ binDirs: [join(dir, "empty"), binDir], netConfig, ...extra });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trellis-pod-cni-"));
  binDir = join(dir, "bin");
  await mkdir(binDir);
  await mkdir(join(dir, "empty"));
  const plugin = join(binDir, "trellis-cni");
  await writeFile(
    plugin,
    [
      "#!/bin/sh",
      'd=$(dirname "$0")',
      'env | grep "^CNI_" | sort > "$d/env.$CNI_COMMAND"',
      'cat > "$d/stdin.$CNI_COMMAND"',
      'if [ "$(cat "$d/reply")" = sleep ]; then exec sleep 30; fi',
      'cat "$d/reply"',
      'cat "$d/reply-err" >&2',
      'exit "$(cat "$d/exit")"',
      "",
    ].join("\n"),
  );
  await chmod(plugin, 0o755);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("CNI runtime", () => {
  test("ADD runs <CNI_PATH dir>/<type> with the runtime's variables and the config on stdin, and reads the pod's IP", async () => {
    await answer(JSON.stringify(addResult), 0);
    const added = await runtime().add(ref);
    assert.equal(added.ip, "100.65.1.9");
    assert.deepEqual(added.result, addResult);
    const { env, stdin } = await seen("ADD");
    assert.deepEqual(env, {
      CNI_ARGS: "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: ref.containerId,
      CNI_IFNAME: "eth0",
      CNI_NETNS: ref.netnsPath,
      CNI_PATH: `${join(dir, "empty")}:${binDir}`,
    });
    assert.deepEqual(stdin, { cniVersion: "1.0.0", name: "trellis", type: "trellis-cni", agentSocket: "/var/run/trellis/agent.sock" });
  });

  test("DEL hands the ADD result back as prevResult", async () => {
    await answer("", 0);
    await runtime().del(ref, addResult);
    const { env, stdin } = await seen("DEL");
    assert.equal(env.CNI_COMMAND, "DEL");
    assert.equal(env.CNI_CONTAINERID, ref.containerId);
    assert.deepEqual(stdin, { ...netConfig, prevResult: addResult });
    await runtime().del(ref);
    assert.deepEqual((await seen("DEL")).stdin, netConfig, "no prevResult when there was no ADD result");
  });

  test("the plugin's error object becomes a CniInvocationError with its code and message", async () => {
    await answer(JSON.stringify({ cniVersion: "1.0.0", code: 11, msg: "allocating the pod's IP: trellis agent not reachable", details: "retry later" }), 1);
    const error = await runtime().add(ref).then(
      () => assert.fail("ADD should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CniInvocationError);
    assert.equal(error.code, 11);
    assert.equal(error.tryAgainLater, true);
    assert.equal(error.details, "retry later");
    assert.equal(error.message, "trellis-cni ADD failed with code 11: allocating the pod's IP: trellis agent not reachable");
  });

  test("a failure without an error object, a result without an IP, a missing plugin and a hung plugin are reported plainly", async () => {
    await answer("", 2, "segfault in plugin");
    await assert.rejects(runtime().add(ref), (e: Error) => e instanceof CniInvocationError && e.code === undefined && /exited with 2 .*segfault in plugin/.test(e.message));
    await answer(JSON.stringify({ ...addResult, ips: [] }), 0);
    await assert.rejects(runtime().add(ref), /names no IPv4 address for eth0 in \/run\/netns\/trl-c1-pod-12345678/);
    const missing = new CniRuntime({ binDirs: [join(dir, "empty")], netConfig });
    await assert.rejects(missing.add(ref), new RegExp(`"trellis-cni" not found .* in CNI_PATH ${join(dir, "empty")}`));
    await answer("sleep", 0);
    await assert.rejects(runtime({ timeoutMs: 300 }).add(ref), /did not finish within 300 ms/);
  });

  test("settings that cannot work are refused up front", () => {
    assert.throws(() => new CniRuntime({ binDirs: ["relative/bin"], netConfig }), (e: Error) => e instanceof CniSettingsError && /"relative\/bin"/.test(e.message));
    assert.throws(() => new CniRuntime({ binDirs: [binDir], netConfig: { ...netConfig, type: "../x" } }), /"type" is "\.\.\/x"/);
  });
});
