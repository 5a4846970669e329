import { DEFAULT_POLICY_NAME, getKeyPolicy, listKeyPolicies, putKeyPolicy } from '../operations/key-policy.js';
import { pageOf } from '../operations/paging.js';
import type { Fields } from './fields.js';
import { route, type KmsRoute } from './route.js';

function policyName(f: Fields): string {
  const name = f.string('PolicyName', { min: 1, max: 128 });
  return name ?? DEFAULT_POLICY_NAME;
}

/** Key policy targets. https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html */
export const policyRoutes: Record<string, KmsRoute> = {
  GetKeyPolicy: route({
    action: 'kms:GetKeyPolicy',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId(), policyName: policyName(f) }),
    keyOf: (r) => r.keyId,
    operate: async (keys, r) => ({ policy: await getKeyPolicy(keys, r.keyId, r.policyName), policyName: r.policyName }),
    respond: (r) => ({ Policy: r.policy, PolicyName: r.policyName }),
  }),

  PutKeyPolicy: route({
    action: 'kms:PutKeyPolicy',
    readOnly: false,
    parse: (f) => ({
      keyId: f.keyId(),
      policyName: policyName(f),
      policy: f.requiredString('Policy', { max: 32768 }),
      bypass: f.boolean('BypassPolicyLockoutSafetyCheck') ?? false,
    }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => putKeyPolicy(keys, r.keyId, r.policy, r.policyName, r.bypass),
    respond: () => ({}),
  }),

  ListKeyPolicies: route({
    action: 'kms:ListKeyPolicies',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId(), limit: f.integer('Limit', 1, 1000) ?? 100, marker: f.string('Marker', { min: 1, max: 1024 }) }),
    keyOf: (r) => r.keyId,
    operate: async (keys, r) => pageOf(await listKeyPolicies(keys, r.keyId), r.limit, r.marker),
    respond: (page) => ({
      PolicyNames: page.items,
      Truncated: page.nextMarker !== undefined,
      ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
    }),
  }),
};
