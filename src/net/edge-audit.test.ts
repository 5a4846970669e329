import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AUDIT_EVENT_VERSION, MemoryAuditSink, newAuditEvent } from '../audit/index.js';
import type { Principal } from '../iam/principals.js';
import type { CallContext } from '../kms/index.js';
import { SinkEdgeAuditor } from './edge-audit.js';
import type { EdgeEvent } from './edge-router.js';

const auditor = new SinkEdgeAuditor(new MemoryAuditSink(), { region: 'us-east-1', accountId: '111122223333' }, pino({ level: 'silent' }));

function principal(overrides: Partial<Principal> = {}): Principal {
  return { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', principalId: 'AIDAALICE', userName: 'alice', ...overrides };
}

function event(p: Principal, extra: Partial<EdgeEvent> = {}, call: Partial<CallContext> = {}): EdgeEvent {
  const context = { principal: p, accessKeyId: 'AKIAALICE', sourceIp: '127.0.0.1', secureTransport: false, ...call } as CallContext;
  return { requestId: 'r-1', time: new Date(Date.UTC(2026, 0, 1)), service: 's3', operation: 'PutObject', readOnly: false, status: 200, call: context, bucket: 'b', objectKey: 'k', ...extra };
}

/** `e` without the members named (absent, not undefined). */
function without(e: EdgeEvent, ...names: (keyof EdgeEvent)[]): EdgeEvent {
  const copy: Record<string, unknown> = { ...e };
  for (const name of names) delete copy[name];
  return copy as unknown as EdgeEvent;
}

describe('SinkEdgeAuditor (parts shared between records)', () => {
  it('a caller\'s userIdentity is shared only while every field it records is the same; any change gives the new values', () => {
    const first = auditor.toRecord(event(principal())).userIdentity;
    assert.ok(Object.isFrozen(first));
    assert.equal(auditor.toRecord(event(principal())).userIdentity, first);
    const cases: [string, EdgeEvent][] = [
      ['principalId', event(principal({ principalId: 'AIDANEW' }))],
      ['userName', event(principal({ userName: 'alice2' }))],
      ['accountId', event(principal({ accountId: '444455556666' }))],
      ['type', event(principal({ type: 'Root' }))],
      ['accessKeyId', event(principal(), {}, { accessKeyId: 'AKIAOTHER' })],
      ['invokedBy', event(principal(), {}, { viaService: 's3.amazonaws.com' })],
    ];
    for (const [field, e] of cases) {
      const identity = auditor.toRecord(e).userIdentity;
      assert.notEqual(identity, first, field);
      const want = { accessKeyId: e.call?.accessKeyId, accountId: e.call?.principal.accountId, arn: e.call?.principal.arn, invokedBy: e.call?.viaService, principalId: e.call?.principal.principalId, type: e.call?.principal.type, userName: e.call?.principal.userName };
      assert.deepEqual(JSON.parse(JSON.stringify(identity)), JSON.parse(JSON.stringify(want)), field);
    }
    // The first caller's entry is still exact after the others.
    assert.deepEqual({ ...auditor.toRecord(event(principal())).userIdentity }, { ...first });
  });

  it('a bucket\'s resource and a KMS key\'s resources are shared per name, the object\'s resource is the request\'s', () => {
    const a = auditor.toRecord(event(principal(), { objectKey: 'one' })).resources;
    const b = auditor.toRecord(event(principal(), { objectKey: 'two' })).resources;
    assert.deepEqual(a, [{ ARN: 'arn:aws:s3:::b/one', type: 'AWS::S3::Object' }, { ARN: 'arn:aws:s3:::b', accountId: '111122223333', type: 'AWS::S3::Bucket' }]);
    assert.equal(b?.[0]?.ARN, 'arn:aws:s3:::b/two');
    assert.equal(a?.[1], b?.[1]);
    const other = auditor.toRecord(event(principal(), { bucket: 'c' })).resources;
    assert.equal(other?.[1]?.ARN, 'arn:aws:s3:::c');
    const kms = (id: string): unknown => {
      const { bucket: _bucket, objectKey: _key, ...rest } = event(principal());
      return auditor.toRecord({ ...rest, service: 'kms', operation: 'Encrypt', keyIdentifier: id }).resources;
    };
    const k1 = kms('11111111-2222-3333-4444-555555555555');
    assert.deepEqual(k1, [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555', accountId: '111122223333', type: 'AWS::KMS::Key' }]);
    assert.equal(kms('11111111-2222-3333-4444-555555555555'), k1);
    assert.deepEqual(kms('alias/x'), [{ ARN: 'arn:aws:kms:us-east-1:111122223333:alias/x', accountId: '111122223333', type: 'AWS::KMS::Key' }]);
  });

  it('a record has exactly the members newAuditEvent gives for its facts, whatever the event carries', () => {
    const tls = { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384', vpcEndpointId: 'vpce-1' };
    // Each event, and the optional members its record must have (the other 17 it always has).
    const cases: [string, EdgeEvent, string[]][] = [
      ['s3 object', event(principal()), ['resources']],
      ['s3 bucket, failed, over TLS', without(event(principal(), { operation: 'PutBucketEncryption', errorCode: 'MalformedXML', errorMessage: 'bad', host: 'h' }, tls), 'objectKey'), ['errorCode', 'errorMessage', 'resources', 'tlsDetails', 'vpcEndpointId']],
      ['s3 listing', without(event(principal(), { operation: 'ListObjectsV2', readOnly: true, requestParameters: { bucketName: 'b' } }), 'objectKey'), ['resources']],
      ['kms on behalf', without(event(principal(), { service: 'kms', operation: 'GenerateDataKey', keyIdentifier: 'alias/aws/s3', additionalEventData: { keyMaterialId: 'm' } }, { viaService: 's3.amazonaws.com' }), 'bucket', 'objectKey'), ['additionalEventData', 'resources']],
      ['iam listed resources', without(event(principal(), { service: 'iam', operation: 'CreateUser', resources: [{ arn: 'arn:aws:iam::111122223333:user/bob', type: 'AWS::IAM::User' }], responseElements: { user: { userName: 'bob' } } }), 'bucket', 'objectKey'), ['resources']],
      ['anonymous, no call', { requestId: 'r-2', time: new Date(Date.UTC(2026, 0, 1)), service: 'unknown', operation: '', readOnly: true, status: 403, errorCode: 'AccessDenied' }, ['errorCode', 'errorMessage']],
    ];
    const OPTIONAL = ['additionalEventData', 'errorCode', 'errorMessage', 'resources', 'tlsDetails', 'vpcEndpointId'];
    for (const [name, e, optional] of cases) {
      const record = auditor.toRecord(e);
      // Given every member the record has, newAuditEvent adds none and changes none: the
      // defaults it would fill agree with what the edge wrote.
      assert.deepEqual(newAuditEvent({ ...record }), record, name);
      assert.deepEqual(Object.keys(record).filter((k) => OPTIONAL.includes(k)).sort(), optional, name);
      assert.equal(Object.keys(record).length, 17 + optional.length, name);
      for (const [k, v] of Object.entries(record)) assert.notEqual(v, undefined, `${name}: ${k}`);
      // The members newAuditEvent would have filled in, filled in as it does.
      const data = e.service === 's3' && (e.objectKey !== undefined || e.operation === 'ListObjectsV2');
      assert.equal(record.eventCategory, data ? 'Data' : 'Management', name);
      assert.equal(record.managementEvent, !data, name);
      assert.equal(record.eventType, 'AwsApiCall', name);
      assert.equal(record.eventVersion, AUDIT_EVENT_VERSION, name);
      assert.equal(record.eventTime, '2026-01-01T00:00:00Z', name);
      assert.equal(record.recipientAccountId, '111122223333', name);
      assert.match(record.eventID, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, name);
      assert.equal(record.eventName, e.operation || 'Unknown', name);
      assert.equal(record.requestParameters, e.requestParameters ?? null, name);
      assert.equal(record.responseElements, e.responseElements ?? null, name);
    }
  });
});

