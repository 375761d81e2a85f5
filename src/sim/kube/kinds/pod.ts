import { legacyIPErrors, parseIP } from '../ip.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt, type Json, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { validateName } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

const DEFAULT_GRACE_SECONDS = 30;
/** The tolerations the DefaultTolerationSeconds admission plugin adds to every Pod. */
const DEFAULT_TOLERATIONS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

function objects(list: Json[] | undefined): JsonObject[] {
  return (list ?? []).filter(isObject);
}

function containersOf(pod: JsonObject): JsonObject[] {
  return objects(arrayAt(objectAt(pod, 'spec'), 'containers'));
}

/**
 * Convert_v1_PodStatus_To_core_PodStatus and back: podIP and podIPs describe the same list
 * (podIP wins when they disagree), and so do hostIP and hostIPs.
 */
function convertIPs(status: JsonObject, single: string, plural: string): void {
  const one = stringAt(status, single) ?? '';
  const many = objects(arrayAt(status, plural));
  if (one !== '' && (many.length === 0 || many[0]?.ip !== one)) status[plural] = [{ ip: one }];
  const first = objects(arrayAt(status, plural))[0];
  if (typeof first?.ip === 'string' && first.ip !== '') status[single] = first.ip;
  else delete status[single];
}

/** The scheme's defaults (SetDefaults_PodSpec, SetDefaults_Container), applied on every write. */
function defaultPod(pod: JsonObject): void {
  const spec = objectAt(pod, 'spec');
  if (spec) {
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= DEFAULT_GRACE_SECONDS;
    spec.securityContext ??= {};
    spec.schedulerName ??= 'default-scheduler';
    spec.enableServiceLinks ??= true;
    for (const c of containersOf(pod)) {
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      const image = stringAt(c, 'image') ?? '';
      const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
      c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
      c.resources ??= {};
      for (const port of objects(arrayAt(c, 'ports'))) port.protocol ??= 'TCP';
    }
  }
  const status = objectAt(pod, 'status');
  if (status) {
    convertIPs(status, 'podIP', 'podIPs');
    convertIPs(status, 'hostIP', 'hostIPs');
  }
}

/** qos.GetPodQOS, enough for containers with or without cpu/memory requests and limits. */
function qosClass(pod: JsonObject): string {
  let any = false;
  let guaranteed = true;
  for (const c of containersOf(pod)) {
    const resources = objectAt(c, 'resources') ?? {};
    const requests = objectAt(resources, 'requests') ?? {};
    const limits = objectAt(resources, 'limits') ?? {};
    for (const r of ['cpu', 'memory']) {
      if (requests[r] !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined || (requests[r] !== undefined && requests[r] !== limits[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** What admission and PrepareForCreate add: service account, priority, tolerations, a fresh status. */
function prepareForCreate(pod: JsonObject): void {
  (objectAt(pod, 'metadata') ?? {}).generation = 1;
  const spec = objectAt(pod, 'spec');
  if (spec) {
    spec.serviceAccountName ??= stringAt(spec, 'serviceAccount') ?? 'default';
    spec.serviceAccount = spec.serviceAccountName;
    spec.priority ??= 0;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    const tolerations = objects(arrayAt(spec, 'tolerations'));
    for (const key of DEFAULT_TOLERATIONS) {
      if (!tolerations.some((t) => t.key === key && (t.effect === 'NoExecute' || t.effect === undefined))) {
        tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
      }
    }
    spec.tolerations = tolerations;
  }
  pod.status = { phase: 'Pending', qosClass: qosClass(pod) };
}

function validatePod(pod: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const containers = containersOf(pod);
  if (containers.length === 0) errs.push(fieldErrors.required('spec.containers'));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const path = `spec.containers[${i}]`;
    const name = stringAt(c, 'name') ?? '';
    if (name === '') errs.push(fieldErrors.required(`${path}.name`));
    else errs.push(...validateName(`${path}.name`, name, 'dns-label'));
    if (names.has(name)) errs.push(fieldErrors.duplicate(`${path}.name`, name));
    names.add(name);
    if ((stringAt(c, 'image') ?? '') === '') errs.push(fieldErrors.required(`${path}.image`));
  });
  // validatePodIPs: new addresses must be valid (old ones may stay), one per IP family.
  const ips = objects(arrayAt(objectAt(pod, 'status'), 'podIPs')).map((p) => (typeof p.ip === 'string' ? p.ip : ''));
  const before = new Set(objects(arrayAt(objectAt(old, 'status'), 'podIPs')).map((p) => p.ip));
  ips.forEach((ip, i) => {
    if (!before.has(ip)) errs.push(...legacyIPErrors(`status.podIPs[${i}]`, ip));
  });
  if (ips.length > 1) {
    const families = ips.map((ip) => parseIP(ip)?.v4);
    if (ips.length > 2 || families[0] === families[1]) {
      errs.push(fieldErrors.invalid('status.podIPs', JSON.stringify(ips.map((ip) => ({ ip }))), 'may specify no more than one IP for each IP family'));
    }
  }
  return errs;
}

/** podStrategy.CheckGracefulDelete: unscheduled and finished pods go at once. */
function gracePeriod(pod: JsonObject, requested: number | undefined): number {
  const spec = objectAt(pod, 'spec');
  const fallback = typeof spec?.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 0;
  let period = requested ?? fallback;
  if ((stringAt(spec, 'nodeName') ?? '') === '') period = 0;
  const phase = stringAt(objectAt(pod, 'status'), 'phase');
  if (phase === 'Failed' || phase === 'Succeeded') period = 0;
  return period < 0 ? 1 : period;
}

/**
 * Pods as the API server keeps them without a scheduler or a kubelet: created straight onto a
 * node (spec.nodeName), their readiness and IP written through /status by whoever plays the
 * kubelet, deleted gracefully (they stay, with a deletionTimestamp, until deleted again with
 * gracePeriodSeconds=0, which is what a kubelet would do once the containers stopped).
 */
export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  shortNames: ['po'],
  categories: ['all'],
  schema: 'io.k8s.api.core.v1.Pod',
  statusSubresource: true,
  returnDeletedObject: true,
  mergeKeys: withMetadataMergeKeys({
    'spec.containers': { mergeKey: 'name' },
    'spec.containers.ports': { mergeKey: 'containerPort' },
    'spec.containers.env': { mergeKey: 'name' },
    'spec.containers.volumeMounts': { mergeKey: 'mountPath' },
    'spec.initContainers': { mergeKey: 'name' },
    'spec.volumes': { mergeKey: 'name' },
    'spec.imagePullSecrets': { mergeKey: 'name' },
    'status.conditions': { mergeKey: 'type' },
    'status.containerStatuses': { mergeKey: 'name' },
    'status.podIPs': { mergeKey: 'ip' },
    'status.hostIPs': { mergeKey: 'ip' },
  }),
  fieldSelectors: {
    'spec.nodeName': (pod) => stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
    'status.phase': (pod) => stringAt(objectAt(pod, 'status'), 'phase') ?? '',
  },
  columns: [
    nameColumn,
    {
      name: 'Ready',
      type: 'string',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (pod) => {
        const statuses = objects(arrayAt(objectAt(pod, 'status'), 'containerStatuses'));
        return `${statuses.filter((c) => c.ready === true).length}/${containersOf(pod).length}`;
      },
    },
    {
      name: 'Status',
      type: 'string',
      description: 'The aggregate status of the containers in this pod.',
      cell: (pod) => (stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') ? 'Terminating' : (stringAt(objectAt(pod, 'status'), 'phase') ?? 'Pending')),
    },
    {
      name: 'Restarts',
      type: 'string',
      description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      cell: (pod) => String(objects(arrayAt(objectAt(pod, 'status'), 'containerStatuses')).reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0)),
    },
    ageColumn,
    { name: 'IP', type: 'string', priority: 1, description: 'The IP address assigned to the pod', cell: (pod) => stringAt(objectAt(pod, 'status'), 'podIP') || '<none>' },
    { name: 'Node', type: 'string', priority: 1, description: 'The name of the node where the pod is scheduled', cell: (pod) => stringAt(objectAt(pod, 'spec'), 'nodeName') || '<none>' },
  ],
  decode: defaultPod,
  prepareForCreate,
  prepareForUpdate(pod, old) {
    // updatePodGeneration: a spec change is a new generation.
    const metadata = objectAt(pod, 'metadata') ?? {};
    const generation = objectAt(old, 'metadata')?.generation;
    if (typeof generation === 'number' && !deepEqual(pod.spec ?? null, old.spec ?? null)) metadata.generation = generation + 1;
  },
  validate: validatePod,
  gracePeriod,
};
