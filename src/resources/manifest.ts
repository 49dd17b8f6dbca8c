import { parseAllDocuments } from "yaml";
import { parseDeployment, type Deployment } from "./deployment.js";
import { ManifestError } from "./manifest-error.js";
import { parseSecret, type Secret } from "./secret.js";
import { parseService, type Service } from "./service.js";

/** One document of an `apply -f` file, typed by its kind. */
export type Manifest =
  | { readonly kind: "Deployment"; readonly object: Deployment }
  | { readonly kind: "Service"; readonly object: Service }
  | { readonly kind: "Secret"; readonly object: Secret };

const SUPPORTED = ["apps/v1 Deployment", "v1 Service", "v1 Secret"];

/** Parses a (multi-document) YAML or JSON file; every document is validated before anything is applied. */
export function parseManifests(text: string, source = "input"): Manifest[] {
  const docs = parseAllDocuments(text);
  const out: Manifest[] = [];
  docs.forEach((d, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (d.errors.length) throw new ManifestError(`${where} is not valid YAML: ${d.errors[0]!.message}`);
    const obj: unknown = d.toJS();
    if (obj === null || obj === undefined) return; // an empty document between separators
    if (typeof obj !== "object" || Array.isArray(obj)) throw new ManifestError(`${where}: expected an object with apiVersion and kind`);
    const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
    if (apiVersion === "apps/v1" && kind === "Deployment") out.push({ kind: "Deployment", object: parseDeployment(obj) });
    else if (apiVersion === "v1" && kind === "Service") out.push({ kind: "Service", object: parseService(obj) });
    else if (apiVersion === "v1" && kind === "Secret") out.push({ kind: "Secret", object: parseSecret(obj) });
    else throw new ManifestError(`${where}: unsupported kind "${String(apiVersion)} ${String(kind)}"; supported: ${SUPPORTED.join(", ")}`);
  });
  if (out.length === 0) throw new ManifestError(`${source} holds no objects`);
  return out;
}
