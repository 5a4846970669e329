import { InvalidMarkerError } from '../errors.js';
import type { Page } from '../key-store.js';

const PREFIX = 'o1:';

/**
 * One page of an in-memory list (tags, rotations, policy names), with an opaque marker
 * that encodes the offset. Raises InvalidMarkerError for a marker this function did not
 * issue; never reads beyond the list.
 */
export function pageOf<T>(items: readonly T[], limit: number, marker?: string): Page<T> {
  let start = 0;
  if (marker !== undefined) {
    const text = Buffer.from(marker, 'base64url').toString('utf8');
    const n = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > items.length) throw new InvalidMarkerError('The marker is not valid.');
    start = n;
  }
  const end = start + limit;
  const slice = items.slice(start, end);
  return end < items.length ? { items: slice, nextMarker: Buffer.from(`${PREFIX}${end}`, 'utf8').toString('base64url') } : { items: slice };
}
