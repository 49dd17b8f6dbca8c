/**
 * The Kubernetes name rules for names that appear inside keys. A name that breaks them would also
 * be able to break the key layout (a '/' in a node name shifts every segment after it).
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Node names are DNS subdomains: at most 253 characters of [a-z0-9-.]. */
export function nodeNameProblem(name: string): string | undefined {
  if (name.length > 253) return `it must be at most 253 characters long (it has ${name.length})`;
  if (!DNS_SUBDOMAIN.test(name)) return "it must be a DNS subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit";
  return undefined;
}

/** Namespaces are DNS labels: at most 63 characters of [a-z0-9-]. */
export function namespaceProblem(name: string): string | undefined {
  if (name.length > 63) return `it must be at most 63 characters long (it has ${name.length})`;
  if (!DNS_LABEL.test(name)) return "it must be a DNS label: lower case letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

/** Service names are DNS-1035 labels: like a namespace, but starting with a letter. */
export function serviceNameProblem(name: string): string | undefined {
  if (name.length > 63) return `it must be at most 63 characters long (it has ${name.length})`;
  if (!DNS_1035_LABEL.test(name)) return "it must be a DNS-1035 label: lower case letters, digits and '-', starting with a letter and ending with a letter or digit";
  return undefined;
}
