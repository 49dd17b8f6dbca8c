import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-file.js";

/**
 * The pod runner's local record of the pod instances it has started on its node, so that a
 * restarted runner adopts what still runs and finishes what a crash interrupted. Every step that
 * creates something outside the process is written here first (write-ahead), and the file is
 * replaced atomically, so after any crash the record names everything that may exist.
 */

/**
 * - creating: being set up (namespace, CNI ADD, server); may be half done.
 * - running:  set up; its server is kept running.
 * - deleting: torn down except for a CNI DEL that has not succeeded yet (the agent was down).
 */
export type PodInstanceState = "creating" | "running" | "deleting";

export interface PodInstanceRecord {
  readonly namespace: string;
  readonly name: string;
  /** The PodSpec's createdAt: tells a re-created pod of the same name from the instance recorded. */
  readonly createdAt: string;
  /** Random, 64 hex digits, one per instance (CNI_CONTAINERID). */
  readonly containerId: string;
  readonly netns: string;
  /** The runner created the namespace and has not deleted it yet. */
  readonly netnsCreated: boolean;
  /** A CNI ADD was started and no DEL has succeeded since: the plugin and agent may hold state for it. */
  readonly cniAttached: boolean;
  readonly state: PodInstanceState;
  readonly ip?: string;
  /** The ADD result, handed back as prevResult on DEL. */
  readonly cniResult?: Record<string, unknown>;
  /** The pod server's PID and start time, while it is believed to run. */
  readonly pid?: number;
  readonly startedAt?: string;
}

const instanceSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  createdAt: z.string(),
  containerId: z.string().regex(/^[0-9a-f]{64}$/),
  netns: z.string().min(1),
  netnsCreated: z.boolean(),
  cniAttached: z.boolean(),
  state: z.enum(["creating", "running", "deleting"]),
  ip: z.string().optional(),
  cniResult: z.record(z.string(), z.unknown()).optional(),
  pid: z.number().int().positive().optional(),
  startedAt: z.string().optional(),
});

const fileSchema = z.object({
  version: z.literal(1),
  cluster: z.string(),
  node: z.string(),
  pods: z.array(instanceSchema),
});

export interface PodRecordOwner {
  readonly cluster: string;
  readonly node: string;
}

export class PodRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PodRecordError";
  }
}

export function podRecordPath(stateDir: string): string {
  return join(stateDir, "pod-runner.json");
}

/** The recorded instances; none when the file does not exist yet. */
export async function loadPodRecord(path: string, owner: PodRecordOwner): Promise<PodInstanceRecord[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new PodRecordError(`cannot read the pod runner's record ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PodRecordError(`the pod runner's record ${path} is not valid JSON (${(e as Error).message}); remove the pods' namespaces by hand and delete the file`, { cause: e });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PodRecordError(`the pod runner's record ${path} is malformed at ${issue?.path.join(".") || "top level"}: ${issue?.message}`);
  }
  if (parsed.data.cluster !== owner.cluster || parsed.data.node !== owner.node) {
    throw new PodRecordError(
      `the pod runner's record ${path} belongs to node ${parsed.data.node} of cluster ${parsed.data.cluster}, not to ${owner.node} of ${owner.cluster}; give each node its own state directory`,
    );
  }
  return parsed.data.pods;
}

export async function savePodRecord(path: string, owner: PodRecordOwner, pods: readonly PodInstanceRecord[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const body = { version: 1, cluster: owner.cluster, node: owner.node, pods };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n");
}
