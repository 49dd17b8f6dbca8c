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

/** A decoded document of a file and how messages name it: the file, and its position when there are several. */
export interface SourceDocument {
  readonly where: string;
  readonly object: Record<string, unknown>;
}

/**
 * Splits a (multi-document) YAML or JSON file into its objects, skipping empty documents. Kinds are
 * not looked at here, so callers above this layer can read kinds this layer does not know (policies).
 */
export function readDocuments(text: string, source = "input"): SourceDocument[] {
  const docs = parseAllDocuments(text);
  const out: SourceDocument[] = [];
  docs.forEach((d, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (d.errors.length) throw new ManifestError(`${where} is not valid YAML: ${d.errors[0]!.message}`);
    const obj: unknown = d.toJS();
    if (obj === null || obj === undefined) return; // an empty document between separators
    if (typeof obj !== "object" || Array.isArray(obj)) throw new ManifestError(`${where}: expected an object with apiVersion and kind`);
    out.push({ where, object: obj as Record<string, unknown> });
  });
  if (out.length === 0) throw new ManifestError(`${source} holds no objects`);
  return out;
}

/** Validates one document of a kind this layer knows; `alsoSupported` lists the caller's other kinds for the error. */
export function parseManifestDocument(doc: SourceDocument, alsoSupported: readonly string[] = []): Manifest {
  const { apiVersion, kind } = doc.object as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion === "apps/v1" && kind === "Deployment") return { kind: "Deployment", object: parseDeployment(doc.object) };
  if (apiVersion === "v1" && kind === "Service") return { kind: "Service", object: parseService(doc.object) };
  if (apiVersion === "v1" && kind === "Secret") return { kind: "Secret", object: parseSecret(doc.object) };
  throw new ManifestError(`${doc.where}: unsupported kind "${String(apiVersion)} ${String(kind)}"; supported: ${[...SUPPORTED, ...alsoSupported].join(", ")}`);
}

/** Parses a (multi-document) YAML or JSON file; every document is validated before anything is applied. */
export function parseManifests(text: string, source = "input"): Manifest[] {
  return readDocuments(text, source).map((d) => parseManifestDocument(d));
}
