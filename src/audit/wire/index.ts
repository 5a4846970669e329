// The CloudTrail wire API (JSON 1.1) over the audit store. The edge (net) imports only from here.
export { CLOUDTRAIL_MAX_BODY_BYTES, CLOUDTRAIL_TARGET_PREFIX, handleCloudTrailRequest } from './handler.js';
export type { CloudTrailAuthorizer, CloudTrailOutcome, CloudTrailReadDeps } from './handler.js';
export type { DigestPublicKey } from './list-public-keys.js';
export { CLOUDTRAIL_ERROR_STATUS, toCloudTrailWireError } from './error-codes.js';
export type { CloudTrailWireError } from './error-codes.js';
export { CloudTrailRequestError } from './errors.js';
export type { CloudTrailClientErrorCode } from './errors.js';
export { LOOKUP_ATTRIBUTE_KEYS, lookupEventEntry, parseLookupEvents } from './lookup-events.js';
export type { LookupEventsRequest } from './lookup-events.js';
