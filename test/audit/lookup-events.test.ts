import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { awsCli } from '../helpers/client-run.js';
import { startTestServer, TEST_ACCESS_KEY_ID, type TestServer } from '../helpers/server.js';

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';

interface LookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly: string;
  AccessKeyId?: string;
  EventTime: number | string;
  EventSource: string;
  Username?: string;
  Resources: { ResourceType: string; ResourceName: string }[];
  CloudTrailEvent: string;
}

describe('CloudTrail LookupEvents on the edge', () => {
  let t: TestServer;
  let home: string;
  let keyId: string;

  async function lookupCli(args: string[]): Promise<LookupEvent[]> {
    const r = await awsCli(t.endpoint, home, ['cloudtrail', 'lookup-events', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { Events: LookupEvent[] }).Events;
  }

  const raw = (body: unknown, options: { secretAccessKey?: string } = {}) =>
    rawKmsRequest(t.endpoint, { target: TARGET, service: 'cloudtrail', body: JSON.stringify(body), ...options });

  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-lookup-events-'));
    const kms = t.kms();
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'lookup-events' }))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 3; i++) await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`secret ${i}`) }));
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })), { name: 'NotFoundException' });
  });

  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('aws cloudtrail lookup-events finds events by EventName, with CloudTrail fields', async () => {
    const events = await lookupCli(['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=Encrypt']);
    assert.equal(events.length, 3);
    for (const e of events) {
      assert.equal(e.EventName, 'Encrypt');
      assert.equal(e.EventSource, 'kms.amazonaws.com');
      assert.equal(e.ReadOnly, 'true');
      assert.equal(e.AccessKeyId, TEST_ACCESS_KEY_ID);
      assert.equal(e.Username, 'root');
      assert.deepEqual(e.Resources, [{ ResourceType: 'AWS::KMS::Key', ResourceName: `arn:aws:kms:us-east-1:000000000000:key/${keyId}` }]);
      const record = JSON.parse(e.CloudTrailEvent) as { eventID: string; eventName: string; requestParameters: Record<string, unknown> };
      assert.equal(record.eventID, e.EventId);
      assert.equal(record.eventName, 'Encrypt');
      assert.ok(!e.CloudTrailEvent.includes('secret '), 'no plaintext in the record');
    }
    assert.equal(new Set(events.map((e) => e.EventId)).size, 3);
  });

  it('the CLI pages with NextToken (--page-size 1) and filters by ResourceName, ReadOnly and time', async () => {
    const paged = await lookupCli(['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=Encrypt', '--page-size', '1']);
    assert.equal(paged.length, 3);
    const byResource = await lookupCli(['--lookup-attributes', `AttributeKey=ResourceName,AttributeValue=${keyId}`]);
    assert.equal(byResource.filter((e) => e.EventName === 'Encrypt').length, 3);
    assert.ok(byResource.every((e) => e.CloudTrailEvent.includes(keyId)));
    assert.ok(!byResource.some((e) => e.EventName === 'DescribeKey'), 'the DescribeKey of another key id is not matched');
    const writes = await lookupCli(['--lookup-attributes', 'AttributeKey=ReadOnly,AttributeValue=false']);
    assert.ok(writes.length >= 1 && writes.every((e) => e.ReadOnly === 'false'), JSON.stringify(writes.map((e) => e.EventName)));
    const future = await lookupCli(['--start-time', new Date(Date.now() + 3_600_000).toISOString()]);
    assert.deepEqual(future, []);
  });

  it('a signed raw request works and bad requests get CloudTrail error codes', async () => {
    const ok = await raw({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'kms.amazonaws.com' }], MaxResults: 2 });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal((ok.json['Events'] as LookupEvent[]).length, 2);
    assert.equal(typeof ok.json['NextToken'], 'string');
    assert.equal(typeof (ok.json['Events'] as LookupEvent[])[0]!.EventTime, 'number');
    const next = await raw({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'kms.amazonaws.com' }], MaxResults: 2, NextToken: ok.json['NextToken'] });
    assert.equal(next.status, 200);
    const firstIds = (ok.json['Events'] as LookupEvent[]).map((e) => e.EventId);
    assert.ok((next.json['Events'] as LookupEvent[]).every((e) => !firstIds.includes(e.EventId)));

    const cases: Array<[unknown, string]> = [
      [{ MaxResults: 51 }, 'InvalidMaxResultsException'],
      [{ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'EventName', AttributeValue: 'b' }] }, 'InvalidLookupAttributesException'],
      [{ LookupAttributes: [{ AttributeKey: 'Colour', AttributeValue: 'a' }] }, 'InvalidLookupAttributesException'],
      [{ StartTime: 2_000_000_000, EndTime: 1_000_000_000 }, 'InvalidTimeRangeException'],
      [{ NextToken: 'not-a-token' }, 'InvalidNextTokenException'],
    ];
    for (const [body, code] of cases) {
      const r = await raw(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.__type, code, JSON.stringify(body));
    }
    const forged = await raw({}, { secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret-00' });
    assert.equal(forged.status, 400);
    assert.equal(forged.json.__type, 'InvalidSignatureException');
  });

  it('records every LookupEvents call, failed ones with their error code', async () => {
    const events = await lookupCli(['--lookup-attributes', 'AttributeKey=EventSource,AttributeValue=cloudtrail.amazonaws.com', '--max-items', '200']);
    assert.ok(events.length >= 8, `got ${events.length}`);
    assert.ok(events.every((e) => e.EventName === 'LookupEvents' && e.ReadOnly === 'true'));
    const codes = events.map((e) => (JSON.parse(e.CloudTrailEvent) as { errorCode?: string }).errorCode).filter((c) => c !== undefined);
    for (const code of ['InvalidMaxResultsException', 'InvalidLookupAttributesException', 'InvalidTimeRangeException', 'InvalidNextTokenException', 'InvalidSignatureException']) {
      assert.ok(codes.includes(code), `${code} recorded: ${codes.join(',')}`);
    }
    const withParams = events.map((e) => JSON.parse(e.CloudTrailEvent) as { requestParameters: Record<string, unknown> | null }).find((r) => r.requestParameters?.['attributeValue'] === 'Encrypt');
    assert.ok(withParams, 'the lookup attribute is in requestParameters');
  });
});
