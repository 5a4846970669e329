export { parseSignature, headerValue, queryPairs, amzDateToMillis, type ParsedSignature, type SignedRequestView } from './parse.js';
export { verifySignature, deriveSigningKey, canonicalRequest, MAX_CLOCK_SKEW_MS, type VerifiedRequest, type VerifyOptions } from './verify.js';
export { uriEncode } from './uri-encode.js';
export { CredentialScopeRegionError, GLOBAL_SIGNING_REGION, scopeRegionError } from './region-scope.js';
export { verifyPostPolicySignature, parsePostCredential, PostCredentialError, type PostPolicySignature } from './post-policy.js';
