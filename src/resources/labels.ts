import { z } from "zod";

/** Kubernetes label rules: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export type Labels = Readonly<Record<string, string>>;

export const labelsSchema = z.record(
  z.string().regex(LABEL_NAME, "label keys are [prefix/]name, name at most 63 characters of letters, digits, '-', '_', '.'"),
  z.string().regex(LABEL_VALUE, "label values are at most 63 characters of letters, digits, '-', '_', '.', starting and ending alphanumeric"),
);

/** DNS-1123 label (namespaces, pod and deployment names). */
export const dnsLabel = z
  .string()
  .max(63, "at most 63 characters")
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "lower-case letters, digits and '-', starting and ending alphanumeric");

/** DNS-1123 subdomain (object names). */
export const dnsSubdomain = z
  .string()
  .max(253, "at most 253 characters")
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "lower-case letters, digits, '-' and '.', starting and ending alphanumeric");

export function matchesLabels(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
