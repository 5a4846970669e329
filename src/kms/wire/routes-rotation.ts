import { DEFAULT_ROTATION_DAYS, disableKeyRotation, enableKeyRotation, getKeyRotationStatus, listKeyRotations, rotateKeyOnDemand } from '../operations/rotation.js';
import { epochSeconds } from './fields.js';
import { route, type KmsRoute } from './route.js';

/** Rotation targets. https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html */
export const rotationRoutes: Record<string, KmsRoute> = {
  EnableKeyRotation: route({
    action: 'kms:EnableKeyRotation',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId(), periodDays: f.integer('RotationPeriodInDays', 90, 2560) ?? DEFAULT_ROTATION_DAYS }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => enableKeyRotation(keys, r.keyId, r.periodDays),
    respond: () => ({}),
  }),

  DisableKeyRotation: route({
    action: 'kms:DisableKeyRotation',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => disableKeyRotation(keys, r.keyId),
    respond: () => ({}),
  }),

  GetKeyRotationStatus: route({
    action: 'kms:GetKeyRotationStatus',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => getKeyRotationStatus(keys, r.keyId),
    respond: (key) => ({
      KeyRotationEnabled: key.rotation.enabled,
      KeyId: key.keyId,
      ...(key.rotation.enabled ? { RotationPeriodInDays: key.rotation.periodDays } : {}),
      ...(key.rotation.enabled && key.rotation.nextRotationDate !== undefined ? { NextRotationDate: epochSeconds(key.rotation.nextRotationDate) } : {}),
    }),
  }),

  RotateKeyOnDemand: route({
    action: 'kms:RotateKeyOnDemand',
    readOnly: false,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => rotateKeyOnDemand(keys, r.keyId),
    respond: (key) => ({ KeyId: key.keyId }),
  }),

  ListKeyRotations: route({
    action: 'kms:ListKeyRotations',
    readOnly: true,
    parse: (f) => ({
      keyId: f.keyId(),
      includeAll: f.enumValue('IncludeKeyMaterial', ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const) === 'ALL_KEY_MATERIAL',
      limit: f.integer('Limit', 1, 1000) ?? 100,
      marker: f.string('Marker', { min: 1, max: 1024 }),
    }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => listKeyRotations(keys, r.keyId, r.limit, r.marker, r.includeAll),
    respond: (page) => ({
      Rotations: page.items.map((e) => ({
        KeyId: e.keyId,
        KeyMaterialId: e.keyMaterialId,
        KeyMaterialState: e.current ? 'CURRENT' : 'NON_CURRENT',
        ...(e.rotationDate !== undefined ? { RotationDate: epochSeconds(e.rotationDate) } : {}),
        ...(e.rotationType !== undefined ? { RotationType: e.rotationType } : {}),
      })),
      Truncated: page.nextMarker !== undefined,
      ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
    }),
  }),
};
