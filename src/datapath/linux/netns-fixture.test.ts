import assert from "node:assert/strict";
import { after, test } from "node:test";
import { run } from "../../util/exec.js";
import { NetnsFixture, TEST_NETNS_PREFIX, listNamespaces, removeLeftoverNamespaces } from "./netns-fixture.js";

let fixture: NetnsFixture | undefined;
const stray: string[] = [];
after(async () => {
  await fixture?.cleanup();
  for (const name of stray) await run("ip", ["netns", "del", name], { allowFailure: true });
});

test("leftovers of a crashed run are removed; namespaces of running processes are not", async () => {
  const child = await run(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const leftover = `${TEST_NETNS_PREFIX}${child.stdout}-1-node`;
  stray.push(leftover);
  await run("ip", ["netns", "add", leftover]);
  fixture = await NetnsFixture.create();
  const mine = await fixture.namespace("node");
  assert.ok(!(await listNamespaces()).includes(leftover), "the crashed run's namespace is gone");
  assert.deepEqual(await removeLeftoverNamespaces(), []);
  assert.ok((await listNamespaces()).includes(mine), "a live test's namespace stays");
  await fixture.cleanup();
  assert.ok(!(await listNamespaces()).includes(mine));
});
