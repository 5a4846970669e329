import { requestTagFacts } from './request-tag-facts.js';
import { createKey } from '../operations/create-key.js';
import { describeKey } from '../operations/aws-managed-key.js';
import { cancelKeyDeletion, disableKey, enableKey, scheduleKeyDeletion, updateKeyDescription } from '../operations/key-lifecycle.js';
import { keyArn, KEY_SPECS, KEY_USAGES, type Tag } from '../keys/key-record.js';
import { UnsupportedOperationError, ValidationError } from '../errors.js';
import { checkKeyPolicy } from '../operations/key-policy.js';
import { epochSeconds, type Fields } from './fields.js';
import { keyMetadata } from './key-metadata.js';
import { route, type KmsRoute } from './route.js';

/**
 * Reads a Tags list ([{TagKey, TagValue}]); [] when absent or null. A member of the wrong JSON
 * type (Tags not a list, a tag not a structure, a TagKey or TagValue not a string) raises
 * SerializationError, as the rest of the body's members do; a missing TagKey or TagValue, or
 * one of the wrong length, ValidationError. A null tag is dropped, as a null list element is.
 */
export function parseTags(f: Fields, name = 'Tags'): Tag[] {
  return (f.structureList(name) ?? []).map((tag) => {
    // Both read before either is checked, so a wrong type in TagValue wins over TagKey's length.
    const key = tag.string('TagKey');
    const value = tag.string('TagValue');
    if (key === undefined || value === undefined || key.length < 1 || key.length > 128 || value.length > 256) {
      f.violation(new ValidationError('1 validation error detected: each tag must have a TagKey of 1-128 characters and a TagValue of 0-256 characters'));
    }
    return { key: key ?? '', value: value ?? '' };
  });
}

/** Key management targets: CreateKey, DescribeKey, ListKeys and the lifecycle calls. */
export const keyRoutes: Record<string, KmsRoute> = {
  CreateKey: route({
    action: 'kms:CreateKey',
    readOnly: false,
    parse: (f) => {
      const spec = f.enumValue('KeySpec', KEY_SPECS) ?? f.enumValue('CustomerMasterKeySpec', KEY_SPECS) ?? 'SYMMETRIC_DEFAULT';
      const defaultUsage = spec.startsWith('HMAC_') ? 'GENERATE_VERIFY_MAC' : spec.startsWith('ECC_') ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT';
      const origin = f.string('Origin');
      if (origin !== undefined && origin !== 'AWS_KMS') throw new ValidationError(`Origin ${origin} is not supported`);
      const policy = f.string('Policy', { min: 1, max: 32768 });
      // Checked here as PutKeyPolicy checks it: a stored policy that does not parse would allow nothing.
      if (policy !== undefined) checkKeyPolicy(policy);
      // Typed even when unused: AWS refuses `"MultiRegion": "yes"`, it does not read it as false.
      f.boolean('BypassPolicyLockoutSafetyCheck');
      if (f.boolean('MultiRegion') === true) throw new UnsupportedOperationError('Multi-Region keys are not supported.');
      return {
        keySpec: spec,
        keyUsage: f.enumValue('KeyUsage', KEY_USAGES) ?? defaultUsage,
        description: f.string('Description', { max: 8192 }) ?? '',
        ...(policy !== undefined ? { policy } : {}),
        tags: parseTags(f),
      };
    },
    conditions: (req) => {
      const tags = requestTagFacts(req.tags);
      return { conditionKeys: { ...tags.conditionKeys, 'kms:KeySpec': req.keySpec, 'kms:KeyUsage': req.keyUsage, 'kms:KeyOrigin': 'AWS_KMS' } };
    },
    operate: (keys, req, call) => createKey(keys, req, call),
    respond: (key) => ({ KeyMetadata: keyMetadata(key) }),
  }),

  DescribeKey: route({
    action: 'kms:DescribeKey',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => describeKey(keys, r.keyId),
    respond: (key) => ({ KeyMetadata: keyMetadata(key) }),
  }),

  ListKeys: route({
    action: 'kms:ListKeys',
    readOnly: true,
    parse: (f) => ({ limit: f.integer('Limit', 1, 1000) ?? 1000, marker: f.string('Marker', { min: 1, max: 1024 }) }),
    operate: (keys, r) => keys.deps.store.listKeys(r.limit, r.marker),
    respond: (page) => ({
      Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(k) })),
      Truncated: page.nextMarker !== undefined,
      ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
    }),
  }),

  EnableKey: route({
    action: 'kms:EnableKey',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => enableKey(keys, r.keyId),
    respond: () => ({}),
  }),

  DisableKey: route({
    action: 'kms:DisableKey',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => disableKey(keys, r.keyId),
    respond: () => ({}),
  }),

  UpdateKeyDescription: route({
    action: 'kms:UpdateKeyDescription',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId(), description: f.string('Description', { max: 8192 }) ?? fieldMissing('Description') }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => updateKeyDescription(keys, r.keyId, r.description),
    respond: () => ({}),
  }),

  ScheduleKeyDeletion: route({
    action: 'kms:ScheduleKeyDeletion',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId(), days: f.integer('PendingWindowInDays', 7, 30) ?? 30 }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => scheduleKeyDeletion(keys, r.keyId, r.days),
    respond: (key) => ({
      KeyId: keyArn(key),
      DeletionDate: epochSeconds(key.deletionDate!),
      KeyState: key.keyState,
      PendingWindowInDays: key.pendingWindowDays,
    }),
  }),

  CancelKeyDeletion: route({
    action: 'kms:CancelKeyDeletion',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => cancelKeyDeletion(keys, r.keyId),
    respond: (key) => ({ KeyId: keyArn(key) }),
  }),
};

function fieldMissing(name: string): never {
  throw new ValidationError(`1 validation error detected: Value null at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must not be null`);
}
