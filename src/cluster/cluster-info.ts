import { clusterIdProblem, DEFAULT_MAX_CONNECTED_CLUSTERS, isMaxConnectedClusters, type MaxConnectedClusters } from "./cluster-id.js";
import { clusterNameProblem, DEFAULT_CLUSTER_NAME } from "./cluster-name.js";
import { describeValue } from "./describe-value.js";

/** Who a cluster is in the mesh. Only validateClusterInfo / checkClusterInfo make one. */
export interface ClusterInfo {
  readonly name: string;
  readonly id: number;
  readonly maxConnectedClusters: MaxConnectedClusters;
}

/** Unchecked input, as it comes from flags, YAML or a kvstore record. */
export interface ClusterInfoInput {
  readonly name?: unknown;
  readonly id?: unknown;
  /** Defaults to 255, as in Cilium. */
  readonly maxConnectedClusters?: unknown;
}

export type ClusterConfigField = "name" | "id" | "maxConnectedClusters";

export interface ClusterConfigProblem {
  readonly field: ClusterConfigField;
  /** The value that was given. */
  readonly value: unknown;
  /** One sentence: the rule broken and the value given. */
  readonly message: string;
}

/** A cluster configuration broke one or more rules; `problems` lists each, not just the first. */
export class ClusterConfigError extends Error {
  readonly problems: readonly ClusterConfigProblem[];

  constructor(problems: readonly ClusterConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.message}`).join("\n");
    super(problems.length === 1 ? problems[0]!.message : `invalid cluster configuration:\n${lines}`);
    this.name = "ClusterConfigError";
    this.problems = problems;
  }
}

export interface ValidateClusterInfoOptions {
  /**
   * Accept cluster ID 0, the ID of a standalone cluster (Cilium's non-strict validation). A mesh
   * needs a non-zero ID, so this defaults to false.
   */
  readonly allowUnsetId?: boolean;
}

/** Checks every rule and returns either the ClusterInfo or an error listing each rule broken. */
export function checkClusterInfo(input: ClusterInfoInput, options: ValidateClusterInfoOptions = {}): ClusterInfo | ClusterConfigError {
  const problems: ClusterConfigProblem[] = [];
  const { name, id } = input;
  const maxGiven = input.maxConnectedClusters === undefined ? DEFAULT_MAX_CONNECTED_CLUSTERS : input.maxConnectedClusters;

  let max: MaxConnectedClusters;
  if (isMaxConnectedClusters(maxGiven)) {
    max = maxGiven;
  } else {
    problems.push({
      field: "maxConnectedClusters",
      value: maxGiven,
      message: `maxConnectedClusters ${describeValue(maxGiven)} is invalid: it must be 255 or 511, the same on every cluster of the mesh (got ${describeValue(maxGiven)})`,
    });
    // Judge the ID against the widest legal mesh so that one mistake is reported once.
    max = 511;
  }

  if (typeof name !== "string") {
    problems.push({ field: "name", value: name, message: `cluster name must be a string (got ${describeValue(name)})` });
  } else {
    const why = clusterNameProblem(name);
    if (why !== undefined) {
      problems.push({ field: "name", value: name, message: `cluster name ${describeValue(name)} is invalid: ${why} (got ${describeValue(name)})` });
    } else if (name === DEFAULT_CLUSTER_NAME && typeof id === "number" && id !== 0) {
      problems.push({
        field: "name",
        value: name,
        message: `cluster name "${DEFAULT_CLUSTER_NAME}" is reserved for a cluster without an ID: choose another name for cluster ID ${describeValue(id)} (got ${describeValue(name)})`,
      });
    }
  }

  const idWhy = clusterIdProblem(id, max, options.allowUnsetId ?? false);
  if (idWhy !== undefined) {
    problems.push({ field: "id", value: id, message: `cluster ID ${describeValue(id)} is invalid: ${idWhy} (got ${describeValue(id)})` });
  }

  if (problems.length > 0) return new ClusterConfigError(problems);
  return { name: name as string, id: id as number, maxConnectedClusters: max };
}

/** Like checkClusterInfo, but throws the ClusterConfigError. */
export function validateClusterInfo(input: ClusterInfoInput, options: ValidateClusterInfoOptions = {}): ClusterInfo {
  const result = checkClusterInfo(input, options);
  if (result instanceof ClusterConfigError) throw result;
  return result;
}
