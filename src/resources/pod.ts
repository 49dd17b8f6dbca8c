import type { Labels } from "./labels.js";

/** A pod the operator has scheduled: desired state, written by the operator. */
export interface PodSpec {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  /** The node it runs on (scheduled by the operator). */
  readonly node: string;
  readonly ports: readonly number[];
  readonly image: string;
  /** Owning deployment. */
  readonly deployment?: string;
  readonly createdAt: string;
}

/** What the node reports about a pod it runs. */
export interface PodStatus {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly phase: "Pending" | "Running" | "Failed" | "Terminating";
  readonly ip?: string;
  /** The pod's network namespace (a named netns in the lab). */
  readonly netns?: string;
  readonly containerId?: string;
  readonly message?: string;
  readonly updatedAt: string;
}
