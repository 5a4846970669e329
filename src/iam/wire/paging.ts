/**
 * IAM's list paging (MaxItems, Marker, IsTruncated), done in the wire layer over a whole list:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html and the other List* actions.
 */
import { IamValidationError } from '../errors.js';

/** Items a list answers when MaxItems is absent ("the response defaults to 100 items", IAM). */
export const DEFAULT_MAX_ITEMS = 100;

/** One page of a list: its items, and the Marker of the next page when there is one. */
export interface IamPage<T> {
  readonly items: readonly T[];
  readonly marker: string | undefined;
}

/**
 * The page of `items` after `marker`, at most `maxItems` long (DEFAULT_MAX_ITEMS when absent),
 * ordered by `keyOf` (a unique name). The marker is the last key returned, base64url-encoded, so
 * a page stays correct when entities are created or deleted between calls. Raises
 * IamValidationError for a marker that is not the canonical base64url of a non-empty UTF-8
 * key; a well-formed marker naming any key is accepted (it is not authenticated: it only
 * says where to resume, so one crafted by the client can skip items, never reveal others).
 * Never reorders equal keys.
 */
export function iamPage<T>(items: readonly T[], keyOf: (item: T) => string, maxItems: number | undefined, marker: string | undefined): IamPage<T> {
  const after = marker === undefined ? undefined : markerKey(marker);
  const sorted = [...items].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const rest = after === undefined ? sorted : sorted.filter((item) => compare(keyOf(item), after) > 0);
  const limit = maxItems ?? DEFAULT_MAX_ITEMS;
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, marker: rest.length > limit && last !== undefined ? Buffer.from(keyOf(last), 'utf8').toString('base64url') : undefined };
}

/** The response fields of a page: IsTruncated, and Marker only when truncated (as IAM answers). */
export function pageFields(page: IamPage<unknown>): { IsTruncated: boolean; Marker?: string } {
  return page.marker === undefined ? { IsTruncated: false } : { IsTruncated: true, Marker: page.marker };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function markerKey(marker: string): string {
  const key = /^[A-Za-z0-9_-]+$/.test(marker) ? Buffer.from(marker, 'base64url').toString('utf8') : '';
  if (key === '' || Buffer.from(key, 'utf8').toString('base64url') !== marker) throw new IamValidationError('Invalid Marker.');
  return key;
}
