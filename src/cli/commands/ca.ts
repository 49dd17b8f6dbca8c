import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { stringify } from "yaml";
import { caFromSecret, caSecret, readClusterCa, writeClusterCa } from "../../install/cluster-ca.js";
import { labAdoptCa, labClusterOf } from "../../lab/lab-mesh.js";
import { describeCertificate } from "../../pki/certificates.js";
import { parseManifests } from "../../resources/manifest.js";
import { withCluster } from "../cluster-connection.js";
import { UserError } from "../user-error.js";

/** `trellis ca export|import`: share one CA between clusters, as seed 003 copies the cilium-ca secret. */
export function registerCaCommands(program: Command): void {
  const ca = program.command("ca").description("Export or import a cluster's certificate authority (secret kube-system/cilium-ca)");
  ca.command("export")
    .description("Print the cluster CA as a Secret (YAML) on standard output")
    .option("--context <name>", "the cluster's context")
    .action(async (o: { context?: string }) => {
      await withCluster(o.context, async (c) => {
        const pair = await readClusterCa(c.store);
        if (!pair) throw new UserError(`context "${c.context.name}" has no CA yet (secret kube-system/cilium-ca); it is created by "trellis lab up"`);
        process.stdout.write(stringify(caSecret(pair)));
      });
    });
  ca.command("import")
    .description("Make the given CA (a Secret from 'ca export') this cluster's CA")
    .requiredOption("-f, --filename <file>", "the exported Secret, or - for standard input")
    .option("--context <name>", "the cluster's context")
    .action(async (o: { filename: string; context?: string }) => {
      let text: string;
      try {
        text = readFileSync(o.filename === "-" ? 0 : o.filename, "utf8");
      } catch (e) {
        throw new UserError(`cannot read ${o.filename}: ${(e as Error).message}`);
      }
      const docs = parseManifests(text, o.filename);
      const secret = docs.find((d) => d.kind === "Secret");
      if (!secret || secret.kind !== "Secret") throw new UserError(`${o.filename} holds no Secret; create it with "trellis ca export --context OTHER > ${o.filename}"`);
      const pair = caFromSecret(secret.object);
      await withCluster(o.context, async (c) => {
        await writeClusterCa(c.store, pair);
        const info = describeCertificate(pair.certPem);
        console.log(`✓ ${c.context.name} now uses CA "${info.subjectCommonName}" (valid until ${info.notAfter.toISOString().slice(0, 10)})`);
        const plan = labClusterOf(c.context);
        if (plan) await labAdoptCa(plan, pair, (l) => console.log(l));
        else console.log("  certificates issued from now on (trellis clustermesh enable) chain to it; re-issue etcd's and the daemons' certificates from it and restart them");
      });
    });
}
