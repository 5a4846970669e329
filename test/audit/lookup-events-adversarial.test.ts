import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawKmsRequest, type RawResponse } from '../helpers/signed-request.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';

// LookupEvents with explicit nulls: AWS's JSON 1.1 services read a null member as an absent
// one (Smithy's protocol tests; the KMS wire does the same, test/kms/wire-types.test.ts).
// Members of the wrong JSON type keep the codes test/robustness/query-apis.test.ts pins.
describe('CloudTrail wire: LookupEvents with explicit null members', () => {
  let t: TestServer;
  const raw = (body: string): Promise<RawResponse> => rawKmsRequest(t.endpoint, { target: TARGET, body, service: 'cloudtrail' });

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('treats an explicit null as absent', async () => {
    // MaxResults null was InvalidMaxResultsException, NextToken null InvalidNextTokenException,
    // EventCategory null InvalidEventCategoryException, LookupAttributes null InvalidLookupAttributesException.
    for (const body of ['{"MaxResults":null}', '{"NextToken":null}', '{"EventCategory":null}', '{"LookupAttributes":null}', '{"StartTime":null,"EndTime":null}']) {
      const r = await raw(body);
      assert.equal(r.status, 200, `${body}: ${JSON.stringify(r.json)}`);
      assert.ok(Array.isArray(r.json['Events']), body);
    }
    const one = await raw('{"MaxResults":null,"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"LookupEvents"}]}');
    assert.equal(one.status, 200, JSON.stringify(one.json));
    const names = (one.json['Events'] as Array<{ EventName: string }>).map((e) => e.EventName);
    assert.ok(names.length > 0 && names.every((n) => n === 'LookupEvents'), JSON.stringify(names));
  });

  it('keeps the constraint errors for values that are present', async () => {
    const cases: Array<[string, string]> = [
      ['{"MaxResults":0}', 'InvalidMaxResultsException'],
      ['{"MaxResults":1.5}', 'InvalidMaxResultsException'],
      ['{"EventCategory":"management"}', 'InvalidEventCategoryException'],
      ['{"NextToken":"garbage"}', 'InvalidNextTokenException'],
      ['{"LookupAttributes":[{"AttributeKey":"Colour","AttributeValue":"a"}]}', 'InvalidLookupAttributesException'],
      ['{"StartTime":"not a date"}', 'InvalidTimeRangeException'],
    ];
    for (const [body, code] of cases) {
      const r = await raw(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.__type, code, `${body}: ${JSON.stringify(r.json)}`);
    }
  });
});
