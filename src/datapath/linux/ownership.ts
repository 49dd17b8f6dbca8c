/**
 * How Trellis recognises what it made on a node, so that a restart removes only stale Trellis
 * state and never anything else.
 *
 * - Routes carry routing protocol 116 (`proto 116`; 0x74, "t"). iproute2's registry
 *   (/etc/iproute2/rt_protos) stops well short of it, and none of the routing daemons we know of
 *   (bird 12, Calico 80, the 18x block of FRR/BGP/OSPF) use it. `ip route show proto 116` lists
 *   exactly Trellis's routes.
 * - The VXLAN device is Trellis's by its name; every FDB and neighbour entry on it is Trellis's.
 * - The router IP on `lo` carries the address label `lo:trellis`.
 */
export const TRELLIS_ROUTE_PROTOCOL = 116;

export const TUNNEL_DEVICE = "trellis_vxlan";
export const TUNNEL_VNI = 2;
/** The Linux-assigned VXLAN port that Cilium and flannel use, not IANA's 4789. */
export const TUNNEL_PORT = 8472;

export const ROUTER_IP_DEVICE = "lo";
export const ROUTER_IP_LABEL = "lo:trellis";

export const IP_FORWARD_SYSCTL = "net.ipv4.ip_forward";
