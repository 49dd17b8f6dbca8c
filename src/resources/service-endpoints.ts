/**
 * A service's backends (like an EndpointSlice), at `trellis/service-endpoints/<ns>/<name>`. The
 * operator writes them for services with a selector, from the Running pods that match it; a service
 * without a selector has them written by whoever owns it (clustermesh enable for
 * clustermesh-apiserver). Ports come from the service's targetPorts.
 */
export interface ServiceBackend {
  readonly ip: string;
  readonly ready: boolean;
  readonly pod?: string;
  readonly node?: string;
}

export interface ServiceEndpoints {
  readonly backends: readonly ServiceBackend[];
  /** "operator" for selector services; otherwise who wrote them. */
  readonly managedBy: string;
}
