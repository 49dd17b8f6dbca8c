import { CCNP_KIND, CNP_KIND, POLICY_API_VERSION, isPolicyDocument, parseNetworkPolicy } from "../policy/index.js";
import { keys } from "../resources/keys.js";
import { ManifestError } from "../resources/manifest-error.js";
import { parseManifestDocument, readDocuments, type SourceDocument } from "../resources/manifest.js";
import { kindLabel, objectKey } from "../resources/object-keys.js";

/**
 * The objects of an `apply -f` / `delete -f` file, whatever their kind: Trellis's own objects
 * (resources/manifest.ts) and network policies, which the resources layer may not know about
 * (it sits below src/policy), so they are told apart here.
 */

export interface FileObject {
  /** Where the object lives in the cluster's etcd. */
  readonly key: string;
  /** kubectl's name for the kind in messages: "deployment.apps", "ciliumnetworkpolicy.cilium.io". */
  readonly kind: string;
  readonly name: string;
  /** Undefined for cluster-scoped objects (CiliumClusterwideNetworkPolicy). */
  readonly namespace?: string;
  /** What is stored (apply adds metadata.creationTimestamp). */
  readonly object: { readonly metadata: object } & Record<string, unknown>;
}

const POLICY_KINDS = [`${POLICY_API_VERSION} ${CNP_KIND}`, `${POLICY_API_VERSION} ${CCNP_KIND}`];

const POLICY_KIND_LABEL: Readonly<Record<string, string>> = {
  [CNP_KIND]: "ciliumnetworkpolicy.cilium.io",
  [CCNP_KIND]: "ciliumclusterwidenetworkpolicy.cilium.io",
};

function isPolicy(doc: SourceDocument): boolean {
  return isPolicyDocument(doc.object.apiVersion, doc.object.kind);
}

/** Where a policy is kept; a CiliumNetworkPolicy without a namespace is in "default", as kubectl puts it. */
export function policyObject(kind: string, name: string, namespace: string | undefined, object: FileObject["object"]): FileObject {
  if (kind === CCNP_KIND) return { key: keys.clusterwidePolicy(name), kind: POLICY_KIND_LABEL[kind]!, name, object };
  const ns = namespace ?? "default";
  return { key: keys.policy(ns, name), kind: POLICY_KIND_LABEL[CNP_KIND]!, name, namespace: ns, object };
}

function withNamespace(doc: Record<string, unknown>, namespace: string | undefined): FileObject["object"] {
  const metadata = (doc.metadata ?? {}) as Record<string, unknown>;
  return { ...doc, metadata: namespace === undefined ? metadata : { ...metadata, namespace } };
}

/**
 * Every object of a file, each validated; throws a ManifestError naming the document and the field
 * at the first invalid one, so nothing is applied from a file with an error in it. Policies are kept
 * as written (plus the namespace they default to): agents parse them again when they read them.
 */
export function parseApplyFile(text: string, source = "input"): FileObject[] {
  return readDocuments(text, source).map((doc) => {
    if (!isPolicy(doc)) {
      const m = parseManifestDocument(doc, POLICY_KINDS);
      return { key: objectKey(m), kind: kindLabel(m), name: m.object.metadata.name, namespace: m.object.metadata.namespace, object: m.object as unknown as FileObject["object"] };
    }
    let policy;
    try {
      policy = parseNetworkPolicy(doc.object);
    } catch (e) {
      throw new ManifestError(`${doc.where}: ${(e as Error).message}`);
    }
    return policyObject(policy.kind, policy.name, policy.namespace, withNamespace(doc.object, policy.namespace));
  });
}

/** The objects a `delete -f` file names. Policies need only their kind and name: deleting one must not depend on its rules being valid. */
export function parseDeleteFile(text: string, source = "input"): FileObject[] {
  return readDocuments(text, source).map((doc) => {
    if (!isPolicy(doc)) {
      const m = parseManifestDocument(doc, POLICY_KINDS);
      return { key: objectKey(m), kind: kindLabel(m), name: m.object.metadata.name, namespace: m.object.metadata.namespace, object: m.object as unknown as FileObject["object"] };
    }
    const metadata = (doc.object.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    if (typeof metadata.name !== "string" || metadata.name === "") throw new ManifestError(`${doc.where}: metadata.name is required to delete a ${String(doc.object.kind)}`);
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
    return policyObject(String(doc.object.kind), metadata.name, namespace, doc.object as FileObject["object"]);
  });
}

/** `ciliumnetworkpolicy.cilium.io "web" not found in namespace default` / `... "all" not found`. */
export function describeMissing(o: Pick<FileObject, "kind" | "name" | "namespace">): string {
  return `${o.kind} "${o.name}" not found${o.namespace === undefined ? "" : ` in namespace ${o.namespace}`}`;
}

/** Kinds `trellis delete KIND NAME` and `trellis get KIND` accept for policies, as kubectl spells them. */
export const POLICY_RESOURCE_NAMES: Readonly<Record<string, typeof CNP_KIND | typeof CCNP_KIND>> = {
  cnp: CNP_KIND,
  ciliumnetworkpolicy: CNP_KIND,
  ciliumnetworkpolicies: CNP_KIND,
  "ciliumnetworkpolicies.cilium.io": CNP_KIND,
  ccnp: CCNP_KIND,
  ciliumclusterwidenetworkpolicy: CCNP_KIND,
  ciliumclusterwidenetworkpolicies: CCNP_KIND,
  "ciliumclusterwidenetworkpolicies.cilium.io": CCNP_KIND,
};
