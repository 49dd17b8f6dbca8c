import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { attachmentOwner, parseCniArgs, parseCniEnv, podRef } from "./env.js";
import { CniError, ErrorCode } from "./result.js";

const ADD = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc123", CNI_NETNS: "/var/run/netns/pod1", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin:/usr/lib/cni" };

function envError(env: NodeJS.ProcessEnv): CniError {
  try {
    parseCniEnv(env);
  } catch (e) {
    assert.ok(e instanceof CniError);
    return e;
  }
  assert.fail("expected an error");
}

describe("CNI environment", () => {
  test("reads a runtime's ADD invocation, including Kubernetes pod arguments", () => {
    const env = parseCniEnv({ ...ADD, CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123" });
    assert.equal(env.command, "ADD");
    assert.equal(env.containerId, "abc123");
    assert.equal(env.netns, "/var/run/netns/pod1");
    assert.deepEqual(env.path, ["/opt/cni/bin", "/usr/lib/cni"]);
    assert.deepEqual(podRef(env), { namespace: "shop", name: "web-0" });
    assert.equal(attachmentOwner(env.containerId, env.ifName), "abc123/eth0");
  });

  test("missing or unknown CNI_COMMAND is code 4 naming the variable", () => {
    for (const command of [undefined, "", "add", "NUKE"]) {
      const e = envError({ ...ADD, CNI_COMMAND: command });
      assert.equal(e.code, ErrorCode.InvalidEnvironment);
      assert.match(e.message, /CNI_COMMAND/);
    }
  });

  test("every missing variable ADD needs is named in one error", () => {
    const e = envError({ CNI_COMMAND: "ADD" });
    assert.equal(e.code, ErrorCode.InvalidEnvironment);
    for (const v of ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS"]) assert.match(e.message, new RegExp(v));
  });

  test("DEL does not need CNI_NETNS; VERSION, STATUS and GC need no container", () => {
    assert.equal(parseCniEnv({ ...ADD, CNI_COMMAND: "DEL", CNI_NETNS: undefined }).netns, "");
    for (const command of ["VERSION", "STATUS", "GC"]) assert.equal(parseCniEnv({ CNI_COMMAND: command }).command, command);
  });

  test("invalid values are refused with the value given", () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ ...ADD, CNI_CONTAINERID: "-bad" }, /CNI_CONTAINERID "-bad"/],
      [{ ...ADD, CNI_IFNAME: "eth0:1" }, /CNI_IFNAME "eth0:1"/],
      [{ ...ADD, CNI_IFNAME: "a-very-long-interface" }, /CNI_IFNAME "a-very-long-interface" is longer than 15/],
      [{ ...ADD, CNI_IFNAME: ".." }, /CNI_IFNAME "\.\."/],
      [{ ...ADD, CNI_NETNS: "pod1" }, /CNI_NETNS "pod1" is not an absolute path/],
      [{ ...ADD, CNI_ARGS: "K8S_POD_NAME" }, /CNI_ARGS "K8S_POD_NAME"/],
    ];
    for (const [env, pattern] of cases) {
      const e = envError(env);
      assert.equal(e.code, ErrorCode.InvalidEnvironment);
      assert.match(e.message, pattern);
    }
  });

  test("CNI_ARGS values may contain '=' and a trailing ';' is ignored", () => {
    assert.deepEqual(parseCniArgs("A=b=c;D=;"), { A: "b=c", D: "" });
    assert.deepEqual(parseCniArgs(""), {});
  });
});
