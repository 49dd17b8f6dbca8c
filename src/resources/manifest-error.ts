import type { z } from "zod";

/** A manifest that cannot be accepted; the message names the document, the field and the rule. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }

  static fromZod(kind: string, name: string | undefined, error: z.ZodError): ManifestError {
    const lines = error.issues.map((i) => `  ${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") || "(document)"}: ${i.message}`);
    return new ManifestError(`invalid ${kind}${name ? ` "${name}"` : ""}:\n${lines.join("\n")}`);
  }
}
