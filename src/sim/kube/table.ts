import { objectAt, stringAt, type Json, type JsonObject } from './json.js';
import type { Column, ResourceDef } from './resource.js';

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration, which kubectl's AGE column uses. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Age since an RFC 3339 timestamp, "<unknown>" when absent (translateTimestampSince). */
export function ageOf(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now - Date.parse(timestamp));
}

export const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (obj) => stringAt(objectAt(obj, 'metadata'), 'name') ?? '',
};

export const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (obj, now) => ageOf(stringAt(objectAt(obj, 'metadata'), 'creationTimestamp'), now),
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** A meta.k8s.io/v1 Table as the API server answers `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export function toTable(
  def: ResourceDef,
  objects: readonly JsonObject[],
  listMeta: JsonObject,
  includeObject: IncludeObject,
  withColumns = true,
): JsonObject {
  const columns = def.columns ?? [nameColumn, ageColumn];
  const now = Date.now();
  const rows: Json[] = objects.map((obj) => {
    const row: JsonObject = { cells: columns.map((c) => c.cell(obj, now)) };
    if (includeObject === 'Object') row.object = obj;
    else if (includeObject === 'Metadata') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: objectAt(obj, 'metadata') ?? {} };
    }
    return row;
  });
  const columnDefinitions: Json[] = withColumns
    ? columns.map((c) => {
        const d: JsonObject = { name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 };
        return d;
      })
    : [];
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions, rows };
}
