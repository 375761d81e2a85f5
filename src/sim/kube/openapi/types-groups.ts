/** The named groups: coordination.k8s.io Leases, events.k8s.io Events, discovery.k8s.io EndpointSlices. */
import { atomic, bool, int32, kind, ref, str, stringMap, strings, struct, MICRO_TIME, TIME, type TypeDef } from './schema.js';

const OBJECT_REFERENCE = 'io.k8s.api.core.v1.ObjectReference';
const DISCOVERY = 'io.k8s.api.discovery.v1';
const d = (name: string) => `${DISCOVERY}.${name}`;

const leaseTypes: TypeDef[] = [
  kind('io.k8s.api.coordination.v1.Lease', { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' }, 'A lock held by one holder at a time, renewed while held (leader election, node heartbeats).', {
    spec: ref('io.k8s.api.coordination.v1.LeaseSpec', 'Who holds the lease and until when.'),
  }),
  struct('io.k8s.api.coordination.v1.LeaseSpec', 'Who holds a lease and until when.', {
    acquireTime: ref(MICRO_TIME, 'When the current holder acquired the lease.'),
    holderIdentity: str('The identity of the holder.'),
    leaseDurationSeconds: int32('How long candidates wait after the last renewal before taking the lease.'),
    leaseTransitions: int32('How many times the lease changed holder.'),
    preferredHolder: str('A holder the lease should go to next.'),
    renewTime: ref(MICRO_TIME, 'When the holder last renewed the lease.'),
    strategy: str('How the next holder is chosen.'),
  }),
];

const eventTypes: TypeDef[] = [
  kind(
    'io.k8s.api.events.v1.Event',
    { group: 'events.k8s.io', version: 'v1', kind: 'Event' },
    'A report of something that happened to an object.',
    {
      action: str('What was done, or failed.'),
      deprecatedCount: int32('Deprecated: the core/v1 count.'),
      deprecatedFirstTimestamp: ref(TIME, 'Deprecated: the core/v1 firstTimestamp.'),
      deprecatedLastTimestamp: ref(TIME, 'Deprecated: the core/v1 lastTimestamp.'),
      deprecatedSource: ref('io.k8s.api.core.v1.EventSource', 'Deprecated: the core/v1 source.'),
      eventTime: ref(MICRO_TIME, 'When it first happened.'),
      note: str('A human-readable description (at most 1 kB).'),
      reason: str('Why the action was taken.'),
      regarding: ref(OBJECT_REFERENCE, 'The object it is about.'),
      related: ref(OBJECT_REFERENCE, 'A second object it involves.'),
      reportingController: str('The controller that reported it, such as example.com/my-controller.'),
      reportingInstance: str('The instance of that controller.'),
      series: ref('io.k8s.api.events.v1.EventSeries', 'The series it belongs to, when it keeps happening.'),
      type: str('Normal or Warning.'),
    },
    ['eventTime'],
  ),
  struct('io.k8s.api.events.v1.EventSeries', 'A series of repeated events.', { count: int32('How many times.'), lastObservedTime: ref(MICRO_TIME, 'When last seen.') }, { required: ['count', 'lastObservedTime'] }),
];

const endpointSliceTypes: TypeDef[] = [
  kind(
    d('EndpointSlice'),
    { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    'A set of endpoints of a Service, labelled kubernetes.io/service-name. The EndpointSlice controller keeps them for Services with a selector.',
    {
      addressType: str('IPv4, IPv6 or FQDN: the type of every address in the slice. Immutable.', ['FQDN', 'IPv4', 'IPv6']),
      endpoints: atomic(ref(d('Endpoint'), ''), 'The endpoints (at most 1000).'),
      ports: atomic(ref(d('EndpointPort'), ''), 'The ports of every endpoint in the slice, uniquely named.'),
    },
    ['addressType', 'endpoints'],
  ),
  struct(
    d('Endpoint'),
    'One backend of a Service.',
    {
      addresses: strings('Its addresses: 1 to 100, of the slice addressType.', 'set'),
      conditions: ref(d('EndpointConditions'), 'Whether it takes traffic.'),
      deprecatedTopology: stringMap('Deprecated: not writable through v1.'),
      hints: ref(d('EndpointHints'), 'Where it should be used from.'),
      hostname: str('A DNS label naming it.'),
      nodeName: str('The node it runs on.'),
      targetRef: ref(OBJECT_REFERENCE, 'The object behind it, usually a Pod.'),
      zone: str('The zone it runs in.'),
    },
    { required: ['addresses'] },
  ),
  struct(d('EndpointConditions'), 'Whether an endpoint takes traffic.', {
    ready: bool('Ready for new connections: serving and not terminating (unset means ready).'),
    serving: bool('Its Pod is ready, whether terminating or not.'),
    terminating: bool('Its Pod is being deleted.'),
  }),
  struct(d('EndpointHints'), 'Where an endpoint should be used from.', {
    forNodes: atomic(ref(d('ForNode'), ''), 'Nodes that should use it.'),
    forZones: atomic(ref(d('ForZone'), ''), 'Zones that should use it.'),
  }),
  struct(d('ForNode'), 'A node an endpoint is for.', { name: str('The node name.') }, { required: ['name'] }),
  struct(d('ForZone'), 'A zone an endpoint is for.', { name: str('The zone name.') }, { required: ['name'] }),
  struct(d('EndpointPort'), 'A port of every endpoint in a slice.', {
    appProtocol: str('The application protocol.'),
    name: str('The port name (a DNS label or empty), unique in the slice.'),
    port: int32('The port number; unset means all ports.'),
    protocol: str('TCP, UDP or SCTP (default TCP).', ['SCTP', 'TCP', 'UDP']),
  }),
];

export const groupTypes: readonly TypeDef[] = [...leaseTypes, ...eventTypes, ...endpointSliceTypes];
