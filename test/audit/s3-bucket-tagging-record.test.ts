import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import type { AuditEvent } from '../../src/audit/index.js';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture } from '../helpers/server.js';

const B = 'tag-record';
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

// CloudTrail records PutBucketTagging's document among requestParameters, beside the
// sub-resource as an empty string: {bucketName, Host, tagging: "", Tagging: {xmlns, TagSet:
// {Tag: [{Key, Value}, ...]}}} (a delivered event in mia-platform/integration-connector-agent's
// cloud-vendor-aggregator test). Only a document that passed validation is recorded.
describe('the audit record of PutBucketTagging', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  /** The PutBucketTagging records of the bucket, oldest first. */
  async function records(): Promise<AuditEvent[]> {
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ bucket: B, eventName: 'PutBucketTagging', limit: 100 });
    return records.map((r) => r.event).reverse();
  }

  it('carries the Tagging document as CloudTrail does: a list for several tags, one object for one, errors without it', async () => {
    const host = new URL(fx.server.endpoint).host;
    const put = (TagSet: Array<{ Key: string; Value: string }>): Promise<string> => sdkOutcome(fx.s3.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet } })));
    assert.equal(await put([{ Key: 'team', Value: 'ml' }, { Key: 'stage', Value: 'raw data' }]), 'ok');
    assert.equal(await put([{ Key: 'only', Value: 'é' }]), 'ok');
    assert.equal(await put(Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))), '400 BadRequest');
    const [several, one, refused] = await records();
    assert.deepEqual(several?.requestParameters, {
      Host: host,
      bucketName: B,
      tagging: '',
      Tagging: { xmlns: NS, TagSet: { Tag: [{ Key: 'team', Value: 'ml' }, { Key: 'stage', Value: 'raw data' }] } },
    });
    assert.deepEqual(one?.requestParameters, { Host: host, bucketName: B, tagging: '', Tagging: { xmlns: NS, TagSet: { Tag: { Key: 'only', Value: 'é' } } } });
    assert.equal(refused?.errorCode, 'BadRequest');
    assert.deepEqual(refused?.requestParameters, { Host: host, bucketName: B, tagging: '' });
  });
});
