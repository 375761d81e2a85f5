import { createHash } from 'node:crypto';
import { arrayAt, isObject, objectAt, stringAt, type Json, type JsonObject } from './json.js';
import { DEFAULT_VERSION } from './discovery.js';
import { isoSeconds } from './validation.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface MakeNodeOptions {
  /** Default: one address derived from the name; `[]` for a node without an ExternalIP. */
  externalIP?: string | string[];
  internalIP?: string;
  externalIPv6?: string;
  taints?: Taint[];
  ready?: 'True' | 'False' | 'Unknown';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  unschedulable?: boolean;
  /** ~40 labels and annotations, 4 addresses and 50 images: 15-20 KB of JSON, like a cloud node. */
  realistic?: boolean;
}

/** Bytes derived from the name, so a fixture is the same on every run. */
function digest(name: string): Buffer {
  return createHash('sha256').update(name).digest();
}

function byte(d: Buffer, i: number): number {
  return d[i % d.length] ?? 0;
}

function uuidFrom(d: Buffer, offset: number): string {
  const hex = Buffer.from([...Array(16).keys()].map((i) => byte(d, offset + i))).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A node called "node-17" gets host number 17, so numbered fixtures never share addresses. */
function hostNumber(name: string, d: Buffer): number {
  const m = /(\d+)$/.exec(name);
  return m ? Number(m[1]) % 65_000 : (byte(d, 0) << 8) | byte(d, 1);
}

function defaultAddresses(name: string, d: Buffer): { internal: string; external: string } {
  const n = hostNumber(name, d) + 10;
  return {
    internal: `10.0.${Math.trunc(n / 250)}.${(n % 250) + 1}`,
    // 198.18.0.0/15 is reserved for benchmarks: it never reaches a real host.
    external: `198.${18 + (Math.trunc(n / 62_500) % 2)}.${Math.trunc(n / 250) % 250}.${(n % 250) + 1}`,
  };
}

const CONDITION_TEXT: Readonly<Record<string, Readonly<Record<'True' | 'False', [string, string]>>>> = {
  MemoryPressure: { False: ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'], True: ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'] },
  DiskPressure: { False: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'], True: ['KubeletHasDiskPressure', 'kubelet has disk pressure'] },
  PIDPressure: { False: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'], True: ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available'] },
  Ready: {
    True: ['KubeletReady', 'kubelet is posting ready status'],
    False: ['KubeletNotReady', 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized'],
  },
};

function conditions(ready: 'True' | 'False' | 'Unknown', now: string, created: string): JsonObject[] {
  const network: JsonObject = {
    type: 'NetworkUnavailable',
    status: 'False',
    lastHeartbeatTime: created,
    lastTransitionTime: created,
    reason: 'RouteCreated',
    message: 'RouteController created a route',
  };
  // When the kubelet stops reporting, the node lifecycle controller marks all its conditions Unknown.
  const kubelet = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type): JsonObject => {
    const status = type === 'Ready' ? ready : ready === 'Unknown' ? 'Unknown' : 'False';
    const [reason, message] =
      status === 'Unknown' ? ['NodeStatusUnknown', 'Kubelet stopped posting node status.'] : (CONDITION_TEXT[type]?.[status] ?? ['', '']);
    return { type, status, lastHeartbeatTime: now, lastTransitionTime: created, reason, message };
  });
  return [network, ...kubelet];
}

const IMAGE_NAMES = [
  'registry.k8s.io/kube-proxy', 'registry.k8s.io/pause', 'registry.k8s.io/coredns/coredns', 'registry.k8s.io/metrics-server/metrics-server',
  'registry.k8s.io/ingress-nginx/controller', 'registry.k8s.io/sig-storage/csi-node-driver-registrar', 'registry.k8s.io/sig-storage/livenessprobe',
  'registry.k8s.io/provider-aws/aws-ebs-csi-driver', 'docker.io/calico/node', 'docker.io/calico/cni', 'docker.io/calico/kube-controllers',
  'quay.io/cilium/cilium', 'quay.io/cilium/operator-generic', 'quay.io/prometheus/node-exporter', 'quay.io/prometheus/prometheus',
  'quay.io/prometheus-operator/prometheus-config-reloader', 'grafana/grafana', 'grafana/loki', 'grafana/promtail', 'docker.io/library/nginx',
  'docker.io/library/redis', 'docker.io/library/postgres', 'docker.io/bitnami/kubectl', 'ghcr.io/fluxcd/source-controller',
  'ghcr.io/fluxcd/kustomize-controller', 'quay.io/jetstack/cert-manager-controller', 'quay.io/jetstack/cert-manager-webhook',
  'quay.io/jetstack/cert-manager-cainjector', 'docker.io/istio/proxyv2', 'docker.io/istio/pilot', 'public.ecr.aws/eks-distro/kubernetes/pause',
  'public.ecr.aws/karpenter/controller', 'registry.k8s.io/autoscaling/cluster-autoscaler', 'registry.k8s.io/kube-state-metrics/kube-state-metrics',
  'docker.io/fluent/fluent-bit', 'docker.io/library/busybox', 'docker.io/library/alpine', 'ghcr.io/external-secrets/external-secrets',
  'docker.io/velero/velero', 'docker.io/traefik', 'quay.io/argoproj/argocd', 'ghcr.io/dexidp/dex', 'docker.io/library/memcached',
  'docker.io/library/rabbitmq', 'docker.io/library/mongo', 'registry.k8s.io/dns/k8s-dns-node-cache', 'registry.k8s.io/nfd/node-feature-discovery',
  'docker.io/openpolicyagent/gatekeeper', 'docker.io/kyverno/kyverno', 'gcr.io/datadoghq/agent',
];

function images(d: Buffer): Json[] {
  return IMAGE_NAMES.map((repo, i) => {
    const sha = createHash('sha256').update(`${repo}${byte(d, i)}`).digest('hex');
    return { names: [`${repo}@sha256:${sha}`, `${repo}:v1.${i % 30}.${byte(d, i) % 10}`], sizeBytes: 5_000_000 + byte(d, i) * 400_000 + i * 1_234_567 };
  });
}

function realisticLabels(name: string, d: Buffer): Record<string, string> {
  const zone = `eu-west-1${'abc'.charAt(byte(d, 5) % 3)}`;
  return {
    'node.kubernetes.io/instance-type': 'm6i.xlarge',
    'beta.kubernetes.io/instance-type': 'm6i.xlarge',
    'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': zone,
    'failure-domain.beta.kubernetes.io/region': 'eu-west-1',
    'failure-domain.beta.kubernetes.io/zone': zone,
    'topology.ebs.csi.aws.com/zone': zone,
    'k8s.io/cloud-provider-aws': createHash('md5').update(name).digest('hex'),
    'karpenter.sh/nodepool': 'default',
    'karpenter.sh/capacity-type': byte(d, 6) % 2 === 0 ? 'on-demand' : 'spot',
    'karpenter.sh/initialized': 'true',
    'karpenter.sh/registered': 'true',
    'karpenter.k8s.aws/instance-category': 'm',
    'karpenter.k8s.aws/instance-family': 'm6i',
    'karpenter.k8s.aws/instance-generation': '6',
    'karpenter.k8s.aws/instance-size': 'xlarge',
    'karpenter.k8s.aws/instance-cpu': '4',
    'karpenter.k8s.aws/instance-memory': '16384',
    'karpenter.k8s.aws/instance-network-bandwidth': '1562',
    'karpenter.k8s.aws/instance-hypervisor': 'nitro',
    'node.kubernetes.io/lifecycle': 'normal',
    'workload.example.com/pool': 'web',
    'team.example.com/owner': 'platform',
  };
}

function realisticAnnotations(name: string, d: Buffer, internal: string): Record<string, string> {
  const instance = `i-0${Buffer.from([byte(d, 7), byte(d, 8), byte(d, 9), byte(d, 10), byte(d, 11), byte(d, 12), byte(d, 13), byte(d, 14)]).toString('hex')}`;
  return {
    'alpha.kubernetes.io/provided-node-ip': internal,
    'csi.volume.kubernetes.io/nodeid': JSON.stringify({ 'ebs.csi.aws.com': instance, 'efs.csi.aws.com': instance }),
    'karpenter.k8s.aws/ec2nodeclass-hash': String(byte(d, 15) * 1_000_003),
    'karpenter.k8s.aws/ec2nodeclass-hash-version': 'v3',
    'karpenter.sh/nodepool-hash': String(byte(d, 16) * 7_000_001),
    'karpenter.sh/nodepool-hash-version': 'v3',
    'projectcalico.org/IPv4Address': `${internal}/20`,
    'projectcalico.org/IPv4VXLANTunnelAddr': `192.168.${byte(d, 17)}.0`,
    'flannel.alpha.coreos.com/backend-data': JSON.stringify({ VNI: 1, VtepMAC: 'aa:bb:cc:dd:ee:ff' }),
    'flannel.alpha.coreos.com/backend-type': 'vxlan',
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
    'flannel.alpha.coreos.com/public-ip': internal,
    'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
    'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'false',
    'node.example.com/last-maintenance': `${name} patched 2025-01-01`,
  };
}

/** A v1 Node as a kubelet on a cloud VM registers it. */
export function makeNode(name: string, opts: MakeNodeOptions = {}): JsonObject {
  const d = digest(name);
  const now = isoSeconds();
  const defaults = defaultAddresses(name, d);
  const internal = opts.internalIP ?? defaults.internal;
  const externals = opts.externalIP === undefined ? [defaults.external] : [opts.externalIP].flat();
  const ready = opts.ready ?? 'True';
  const realistic = opts.realistic ?? false;
  const addresses: JsonObject[] = [
    { type: 'InternalIP', address: internal },
    ...externals.map((address) => ({ type: 'ExternalIP', address })),
    ...(opts.externalIPv6 ? [{ type: 'ExternalIP', address: opts.externalIPv6 }] : []),
    ...(realistic ? [{ type: 'InternalDNS', address: `ip-${internal.replaceAll('.', '-')}.eu-west-1.compute.internal` }] : []),
    { type: 'Hostname', address: name },
  ];
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    ...(realistic ? realisticLabels(name, d) : {}),
    ...opts.labels,
  };
  const annotations: Record<string, string> = {
    'node.alpha.kubernetes.io/ttl': '0',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
    ...(realistic ? realisticAnnotations(name, d, internal) : {}),
    ...opts.annotations,
  };
  const podSubnet = hostNumber(name, d) % 256;
  const spec: JsonObject = { podCIDR: `10.244.${podSubnet}.0/24`, podCIDRs: [`10.244.${podSubnet}.0/24`], providerID: `sim:///zone-a/${name}` };
  if (opts.unschedulable) spec.unschedulable = true;
  if (opts.taints && opts.taints.length > 0) spec.taints = opts.taints.map((t) => ({ ...t }));
  const status: JsonObject = {
    capacity: { cpu: '4', 'ephemeral-storage': '101430960Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '16393924Ki', pods: '110' },
    allocatable: { cpu: '3920m', 'ephemeral-storage': '93478772582', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '15242948Ki', pods: '110' },
    conditions: conditions(ready, now, now),
    addresses,
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: uuidFrom(d, 2).replaceAll('-', ''),
      systemUUID: uuidFrom(d, 4),
      bootID: uuidFrom(d, 6),
      kernelVersion: '6.1.0-28-cloud-amd64',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.7.24',
      kubeletVersion: DEFAULT_VERSION,
      kubeProxyVersion: DEFAULT_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
  if (realistic) {
    status.images = images(d);
    const volumes = [...Array(12).keys()].map((i) => `kubernetes.io/csi/ebs.csi.aws.com^vol-0${createHash('md5').update(`${name}${i}`).digest('hex').slice(0, 16)}`);
    status.volumesInUse = volumes;
    status.volumesAttached = volumes.map((v) => ({ name: v, devicePath: '' }));
    annotations['node.example.com/last-applied-node-labels'] = Object.keys(labels).join(',');
  }
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels, annotations }, spec, status };
}

/** What the heartbeat needs from the simulator (kept structural to avoid an import cycle). */
export interface HeartbeatTarget {
  getNode(name: string): JsonObject | undefined;
  patchNode(name: string, patch: object, type?: 'merge' | 'strategic'): JsonObject;
}

/**
 * A kubelet status heartbeat: only lastHeartbeatTime of the kubelet's conditions moves (not
 * NetworkUnavailable, which the route controller owns). Always a later second than before, so
 * it is a real write: a MODIFIED event where nothing that matters changed.
 */
export function touchHeartbeat(sim: HeartbeatTarget, name: string): JsonObject {
  const node = sim.getNode(name);
  if (!node) throw new Error(`node ${name} not found`);
  const conditionsNow = (arrayAt(objectAt(node, 'status'), 'conditions') ?? []).filter(isObject);
  const latest = Math.max(0, ...conditionsNow.map((c) => Date.parse(stringAt(c, 'lastHeartbeatTime') ?? '') || 0));
  const beat = isoSeconds(new Date(Math.max(Date.now(), latest + 1000)));
  const patch = conditionsNow
    .filter((c) => c.type !== 'NetworkUnavailable')
    .map((c) => ({ type: c.type ?? null, lastHeartbeatTime: beat }));
  return sim.patchNode(name, { status: { conditions: patch } }, 'strategic');
}
