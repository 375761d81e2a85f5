import { arrayAt, isObject, objectAt, stringAt, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { validateLabelValue, validateQualifiedName } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

function validateTaints(node: JsonObject): FieldError[] {
  const taints = arrayAt(objectAt(node, 'spec'), 'taints') ?? [];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  taints.forEach((taint, i) => {
    const path = `spec.taints[${i}]`;
    if (!isObject(taint)) {
      errs.push(fieldErrors.invalid(path, taint, 'must be an object'));
      return;
    }
    const key = stringAt(taint, 'key') ?? '';
    errs.push(...(key === '' ? [fieldErrors.required(`${path}.key`)] : validateQualifiedName(`${path}.key`, key)));
    if (taint.value !== undefined) errs.push(...validateLabelValue(`${path}.value`, taint.value));
    const effect = stringAt(taint, 'effect') ?? '';
    if (effect === '') errs.push(fieldErrors.required(`${path}.effect`));
    else if (!(TAINT_EFFECTS as readonly string[]).includes(effect)) {
      errs.push(fieldErrors.notSupported(`${path}.effect`, effect, TAINT_EFFECTS));
    }
    const unique = `${key}:${effect}`;
    if (seen.has(unique)) {
      errs.push({ ...fieldErrors.duplicate(path, JSON.stringify(taint)), detail: 'taints must be unique by key and effect pair' });
    }
    seen.add(unique);
  });
  return errs;
}

function address(node: JsonObject, type: string): string {
  for (const a of arrayAt(objectAt(node, 'status'), 'addresses') ?? []) {
    if (isObject(a) && a.type === type && typeof a.address === 'string') return a.address;
  }
  return '<none>';
}

/** printNode in pkg/printers/internalversion: Ready/NotReady/Unknown plus SchedulingDisabled. */
function nodeStatus(node: JsonObject): string {
  const states: string[] = [];
  for (const c of arrayAt(objectAt(node, 'status'), 'conditions') ?? []) {
    if (isObject(c) && c.type === 'Ready') states.push(c.status === 'True' ? 'Ready' : 'NotReady');
  }
  if (states.length === 0) states.push('Unknown');
  if (objectAt(node, 'spec')?.unschedulable === true) states.push('SchedulingDisabled');
  return states.join(',');
}

function nodeRoles(node: JsonObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(objectAt(objectAt(node, 'metadata'), 'labels') ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/') && key.length > 'node-role.kubernetes.io/'.length) {
      roles.add(key.slice('node-role.kubernetes.io/'.length));
    } else if (key === 'kubernetes.io/role' && typeof value === 'string' && value !== '') {
      roles.add(value);
    }
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function nodeInfo(node: JsonObject, key: string): string {
  return stringAt(objectAt(objectAt(node, 'status'), 'nodeInfo'), key) || '<unknown>';
}

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'nodes',
  singular: 'node',
  kind: 'Node',
  namespaced: false,
  nameFormat: 'dns-subdomain',
  shortNames: ['no'],
  schema: 'io.k8s.api.core.v1.Node',
  statusSubresource: true,
  // spec.taints has no patchMergeKey: a strategic patch replaces the list, which `kubectl taint` relies on.
  mergeKeys: withMetadataMergeKeys({
    'spec.podCIDRs': {},
    'status.addresses': { mergeKey: 'type' },
    'status.conditions': { mergeKey: 'type' },
  }),
  fieldSelectors: { 'spec.unschedulable': (node) => String(objectAt(node, 'spec')?.unschedulable === true) },
  columns: [
    nameColumn,
    { name: 'Status', type: 'string', description: 'The status of the node', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRoles },
    ageColumn,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: (n) => stringAt(objectAt(objectAt(n, 'status'), 'nodeInfo'), 'kubeletVersion') ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.', cell: (n) => address(n, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.', cell: (n) => address(n, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node.', cell: (n) => nodeInfo(n, 'osImage') },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel Version reported by the node.', cell: (n) => nodeInfo(n, 'kernelVersion') },
    { name: 'Container-Runtime', type: 'string', priority: 1, description: 'ContainerRuntime Version reported by the node.', cell: (n) => nodeInfo(n, 'containerRuntimeVersion') },
  ],
  validate: (node) => validateTaints(node),
};
