import { asymmetricRoutes } from './routes-asymmetric.js';
import { cryptoRoutes } from './routes-crypto.js';
import { keyRoutes } from './routes-keys.js';
import { aliasRoutes } from './routes-aliases.js';
import { rotationRoutes } from './routes-rotation.js';
import { policyRoutes } from './routes-policies.js';
import { grantRoutes } from './routes-grants.js';
import { tagRoutes } from './routes-tags.js';
import type { KmsRoute } from './route.js';

/**
 * Every KMS target we serve, by the operation name after `TrentService.`. Targets not in
 * this table answer UnknownOperationException.
 */
export const KMS_ROUTES: Readonly<Record<string, KmsRoute>> = {
  ...keyRoutes,
  ...cryptoRoutes,
  ...asymmetricRoutes,
  ...aliasRoutes,
  ...rotationRoutes,
  ...policyRoutes,
  ...grantRoutes,
  ...tagRoutes,
};
