import { keys } from "./keys.js";
import type { Manifest } from "./manifest.js";

/** Where an applied object lives in the cluster's etcd, and how kubectl names its kind in messages. */
export function objectKey(m: Manifest): string {
  const { name, namespace } = m.object.metadata;
  switch (m.kind) {
    case "Deployment":
      return keys.deployment(namespace, name);
    case "Service":
      return keys.service(namespace, name);
    case "Secret":
      return keys.secret(namespace, name);
  }
}

export function kindLabel(m: Manifest): string {
  return { Deployment: "deployment.apps", Service: "service", Secret: "secret" }[m.kind];
}
