import { objectAt, stringAt, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { checkMicroTime } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

function validateLease(lease: JsonObject): FieldError[] {
  const spec = objectAt(lease, 'spec') ?? {};
  const errs: FieldError[] = [];
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) {
    errs.push(fieldErrors.invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) {
    errs.push(fieldErrors.invalid('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
  return errs;
}

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  singular: 'lease',
  kind: 'Lease',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  createOnUpdate: true,
  conditionalUpdatesOnly: true,
  schema: 'io.k8s.api.coordination.v1.Lease',
  statusSubresource: false,
  mergeKeys: withMetadataMergeKeys({}),
  columns: [
    nameColumn,
    { name: 'Holder', type: 'string', description: 'The holder of the lease', cell: (l) => stringAt(objectAt(l, 'spec'), 'holderIdentity') ?? '' },
    ageColumn,
  ],
  decode(lease) {
    const spec = objectAt(lease, 'spec');
    checkMicroTime(leases, spec?.acquireTime);
    checkMicroTime(leases, spec?.renewTime);
  },
  validate: (lease) => validateLease(lease),
};
