import { MalformedPolicyDocumentError as IamMalformedPolicyError, parsePolicy } from '../../iam/policy/index.js';
import type { KeyService } from '../keys/key-service.js';
import { keyArn, type KeyRecord } from '../keys/key-record.js';
import { KeyInvalidStateError, MalformedPolicyDocumentError, NotFoundError, UnsupportedOperationError } from '../errors.js';

/**
 * Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. A key has exactly one policy,
 * named "default".
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html (and siblings)
 */

/** The only key policy name KMS has. */
export const DEFAULT_POLICY_NAME = 'default';

function requirePolicyName(key: KeyRecord, policyName: string): void {
  if (policyName !== DEFAULT_POLICY_NAME) throw new NotFoundError(`No such policy exists for ${keyArn(key)}: ${policyName}. The only key policy name is "default".`);
}

/** GetKeyPolicy: the policy document. NotFoundError for a policy name other than "default". */
export async function getKeyPolicy(keys: KeyService, keyId: string, policyName = DEFAULT_POLICY_NAME): Promise<string> {
  const key = await keys.resolve(keyId);
  requirePolicyName(key, policyName);
  return key.policy;
}

/**
 * PutKeyPolicy: validates the document as a resource policy and stores it verbatim.
 * Raises MalformedPolicyDocumentError (with the parser's reason), NotFoundError (policy
 * name), UnsupportedOperationError (AWS managed key), KeyInvalidStateError (pending
 * deletion). `bypassLockoutCheck` is accepted; the lockout check itself needs policy
 * evaluation against the caller, which comes with enforcement.
 */
export async function putKeyPolicy(keys: KeyService, keyId: string, policy: string, policyName = DEFAULT_POLICY_NAME, _bypassLockoutCheck = false): Promise<void> {
  const key = await keys.resolve(keyId);
  requirePolicyName(key, policyName);
  if (key.keyManager === 'AWS') throw new UnsupportedOperationError(`${keyArn(key)} is an AWS managed key; its key policy cannot be changed.`);
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
  checkKeyPolicy(policy);
  await keys.update(key, { policy });
}

/** Raises (KMS) MalformedPolicyDocumentError unless `policy` parses as a resource policy. */
export function checkKeyPolicy(policy: string): void {
  try {
    parsePolicy(policy, 'resource');
  } catch (err) {
    if (err instanceof IamMalformedPolicyError) throw new MalformedPolicyDocumentError(err.message, { cause: err });
    throw err;
  }
}

/** ListKeyPolicies: always ["default"] for an existing key. */
export async function listKeyPolicies(keys: KeyService, keyId: string): Promise<string[]> {
  await keys.resolve(keyId);
  return [DEFAULT_POLICY_NAME];
}
