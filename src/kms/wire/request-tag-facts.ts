import type { Tag } from '../keys/key-record.js';
import type { KmsRequestFacts } from './route.js';

/**
 * aws:RequestTag/<key> and aws:TagKeys for a request that sets tags (CreateKey,
 * TagResource), as IAM evaluates them for tag-based access control.
 */
export function requestTagFacts(tags: readonly Tag[]): KmsRequestFacts {
  const conditionKeys: Record<string, string | readonly string[]> = { 'aws:TagKeys': tags.map((t) => t.key) };
  for (const t of tags) conditionKeys[`aws:RequestTag/${t.key}`] = t.value;
  return { conditionKeys };
}

/** aws:TagKeys for UntagResource. */
export function tagKeyFacts(tagKeys: readonly string[]): KmsRequestFacts {
  return { conditionKeys: { 'aws:TagKeys': tagKeys } };
}

/** kms:GrantOperations (multi-valued), kms:GranteePrincipal, kms:RetiringPrincipal and kms:GrantConstraintType for CreateGrant. */
export function grantFacts(r: {
  operations: readonly string[];
  granteePrincipal: string;
  retiringPrincipal?: string;
  constraints?: { encryptionContextEquals?: unknown; encryptionContextSubset?: unknown };
}): KmsRequestFacts {
  const constraintType = r.constraints?.encryptionContextEquals !== undefined ? 'EncryptionContextEquals' : r.constraints?.encryptionContextSubset !== undefined ? 'EncryptionContextSubset' : undefined;
  return {
    conditionKeys: {
      'kms:GrantOperations': r.operations,
      'kms:GranteePrincipal': r.granteePrincipal,
      ...(r.retiringPrincipal !== undefined ? { 'kms:RetiringPrincipal': r.retiringPrincipal } : {}),
      ...(constraintType !== undefined ? { 'kms:GrantConstraintType': constraintType } : {}),
    },
  };
}
