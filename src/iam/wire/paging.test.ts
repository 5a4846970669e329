import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IamValidationError } from '../errors.js';
import { DEFAULT_MAX_ITEMS, iamPage, pageFields } from './paging.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `user-${String(i).padStart(3, '0')}`);
const self = (s: string): string => s;

describe('iamPage (IAM MaxItems / Marker / IsTruncated)', () => {
  it('walks a list in pages of MaxItems by name, each item once; the last page has no Marker', () => {
    const all = names(5).reverse();
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = iamPage(all, self, 2, marker);
      seen.push(...page.items);
      marker = page.marker;
      pages++;
      assert.deepEqual(pageFields(page), marker === undefined ? { IsTruncated: false } : { IsTruncated: true, Marker: marker });
    } while (marker !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, names(5));
  });

  it('answers DEFAULT_MAX_ITEMS without MaxItems, and a list that fits whole untruncated', () => {
    const page = iamPage(names(DEFAULT_MAX_ITEMS + 1), self, undefined, undefined);
    assert.equal(page.items.length, DEFAULT_MAX_ITEMS);
    assert.notEqual(page.marker, undefined);
    assert.equal(iamPage(names(3), self, 3, undefined).marker, undefined);
  });

  it('a marker stays right when the item it names was deleted in between', () => {
    const first = iamPage(names(4), self, 2, undefined);
    const rest = iamPage(names(4).filter((n) => n !== 'user-001'), self, 2, first.marker);
    assert.deepEqual(rest.items, ['user-002', 'user-003']);
  });

  it('refuses a marker it did not make with ValidationError', () => {
    for (const marker of ['', 'not a marker', '%%%', 'dXNlcg=']) {
      assert.throws(() => iamPage(names(3), self, 2, marker), IamValidationError, marker);
    }
  });
});
