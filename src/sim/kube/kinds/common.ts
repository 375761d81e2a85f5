import type { MergeKeys } from '../patch.js';

/** ObjectMeta's strategic-merge lists, shared by every kind. */
export function withMetadataMergeKeys(keys: MergeKeys): MergeKeys {
  return { 'metadata.finalizers': {}, 'metadata.ownerReferences': { mergeKey: 'uid' }, ...keys };
}
