import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParsedSignature } from './parse.js';
import { CredentialScopeRegionError, scopeRegionError } from './region-scope.js';

const sig = (region: string, service: string, presigned = false): ParsedSignature => ({
  accessKeyId: 'AKIDEXAMPLE',
  date: '20261127',
  region,
  service,
  signedHeaders: ['host'],
  signature: '0'.repeat(64),
  amzDate: '20261127T000000Z',
  presigned,
});

describe('scopeRegionError', () => {
  it('accepts the server region for every service, and us-east-1 for IAM and STS only', () => {
    for (const service of ['s3', 'kms', 'iam', 'sts', 'ec2', 'cloudtrail']) assert.equal(scopeRegionError(sig('eu-west-1', service), 'eu-west-1'), undefined, service);
    assert.equal(scopeRegionError(sig('us-east-1', 'iam'), 'eu-west-1'), undefined);
    assert.equal(scopeRegionError(sig('us-east-1', 'sts'), 'eu-west-1'), undefined);
    for (const service of ['s3', 'kms', 'ec2', 'cloudtrail']) assert.ok(scopeRegionError(sig('us-east-1', service), 'eu-west-1') instanceof CredentialScopeRegionError, service);
    assert.ok(scopeRegionError(sig('us-west-2', 'iam'), 'eu-west-1') instanceof CredentialScopeRegionError);
  });

  it('compares exactly: case and a region prefix are other regions', () => {
    assert.ok(scopeRegionError(sig('US-EAST-1', 's3'), 'us-east-1'));
    assert.ok(scopeRegionError(sig('us-east-10', 's3'), 'us-east-1'));
    assert.ok(scopeRegionError(sig('', 'kms'), 'us-east-1'));
  });

  it('names both regions, echoing at most 64 characters of the given one', () => {
    const err = scopeRegionError(sig('x'.repeat(500), 'kms', true), 'us-east-1');
    assert.ok(err);
    assert.equal(err.region, 'x'.repeat(64));
    assert.equal(err.expectedRegion, 'us-east-1');
    assert.equal(err.presigned, true);
    assert.equal(err.kind, 'SignatureMismatch');
  });
});
