import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export { Registry };

/** Label name → value of one time series. */
export type Labels = Record<string, string>;

/** What a collected metric reads at scrape time: one value per label set. */
export type Samples = Iterable<readonly [Labels, number]>;

/**
 * A new registry for one daemon's metrics. Never prom-client's global default registry: one
 * process (a unit test) may run several agents, each with metrics of its own. `processMetrics`
 * adds prom-client's process and Node.js runtime metrics (CPU, memory, event loop lag), as a
 * daemon serves them; they keep a sampling timer running, so tests leave them off.
 */
export function createRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

interface CollectedDefinition {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/**
 * A gauge whose series are read from the component's own state when scraped, so that what is
 * scraped is never out of step with `status()`, and series of things that went away disappear.
 */
export function collectedGauge(registry: Registry, def: CollectedDefinition, read: () => Samples): Gauge<string> {
  return new Gauge({
    ...def,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** As collectedGauge, for a total the component keeps itself (it only grows while that component lives). */
export function collectedCounter(registry: Registry, def: CollectedDefinition, read: () => Samples): Counter<string> {
  return new Counter({
    ...def,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}
