import { aliasArnOf, createAlias, deleteAlias, updateAlias } from '../operations/aliases.js';
import { listAliasesWithPredefined } from '../operations/aws-managed-key.js';
import { epochSeconds } from './fields.js';
import { route, type KmsRoute } from './route.js';

/**
 * Alias targets. Alias names are read with AWS's length bound here; the name rules
 * (prefix, characters, reserved alias/aws/) are the operation's.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
 */
export const aliasRoutes: Record<string, KmsRoute> = {
  CreateAlias: route({
    action: 'kms:CreateAlias',
    readOnly: false,
    parse: (f) => ({ aliasName: f.requiredString('AliasName', { max: 256 }), targetKeyId: f.keyId('TargetKeyId') }),
    keyOf: (r) => r.targetKeyId,
    operate: (keys, r) => createAlias(keys, r.aliasName, r.targetKeyId),
    respond: () => ({}),
  }),

  UpdateAlias: route({
    action: 'kms:UpdateAlias',
    readOnly: false,
    parse: (f) => ({ aliasName: f.requiredString('AliasName', { max: 256 }), targetKeyId: f.keyId('TargetKeyId') }),
    keyOf: (r) => r.targetKeyId,
    operate: (keys, r) => updateAlias(keys, r.aliasName, r.targetKeyId),
    respond: () => ({}),
  }),

  DeleteAlias: route({
    action: 'kms:DeleteAlias',
    readOnly: false,
    parse: (f) => ({ aliasName: f.requiredString('AliasName', { max: 256 }) }),
    keyOf: (r) => r.aliasName,
    operate: (keys, r) => deleteAlias(keys, r.aliasName),
    respond: () => ({}),
  }),

  ListAliases: route({
    action: 'kms:ListAliases',
    readOnly: true,
    parse: (f) => ({ keyId: f.optionalKeyId(), limit: f.integer('Limit', 1, 100) ?? 50, marker: f.string('Marker', { min: 1, max: 320 }) }),
    operate: async (keys, r) => ({ keys, page: await listAliasesWithPredefined(keys, r.limit, r.marker, r.keyId) }),
    respond: ({ keys, page }) => ({
      Aliases: page.items.map((a) =>
        a.targetKeyId === undefined
          ? // A predefined AWS alias with no key yet: a name and an ARN only, as AWS lists it.
            { AliasName: a.aliasName, AliasArn: aliasArnOf(keys, a.aliasName) }
          : {
              AliasName: a.aliasName,
              AliasArn: aliasArnOf(keys, a.aliasName),
              TargetKeyId: a.targetKeyId,
              CreationDate: epochSeconds(a.createdAt),
              LastUpdatedDate: epochSeconds(a.lastUpdatedAt),
            },
      ),
      Truncated: page.nextMarker !== undefined,
      ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
    }),
  }),
};
