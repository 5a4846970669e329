import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawKmsRequest, type RawResponse } from '../helpers/signed-request.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';

// LookupEvents bodies with members of the wrong JSON type: CloudTrail, a JSON 1.1 service,
// deserializes the body before it validates, so the answer is SerializationException (400)
// wherever the type error is, as the KMS wire answers it (test/kms/wire-types.test.ts). An
// explicit null is an absent member, and a null list element is dropped.
describe('CloudTrail wire: LookupEvents with members of the wrong JSON type', () => {
  let t: TestServer;
  const raw = (body: string): Promise<RawResponse> => rawKmsRequest(t.endpoint, { target: TARGET, body, service: 'cloudtrail' });

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('answers SerializationException, with the deserializer words, for a wrong type anywhere', async () => {
    const cases: Array<[string, string]> = [
      ['{"MaxResults":"5"}', 'STRING_VALUE can not be converted to an Integer'],
      ['{"MaxResults":true}', 'TRUE_VALUE can not be converted to an Integer'],
      ['{"StartTime":false}', 'FALSE_VALUE can not be converted to a Timestamp'],
      ['{"EndTime":{}}', 'Start of structure or map found where not expected.'],
      ['{"NextToken":5}', 'NUMBER_VALUE can not be converted to a String'],
      ['{"EventCategory":["insight"]}', 'Start of list found where not expected'],
      ['{"LookupAttributes":{"AttributeKey":"EventName","AttributeValue":"a"}}', 'Start of structure or map found where not expected.'],
      ['{"LookupAttributes":"EventName"}', 'Expected list or null'],
      ['{"LookupAttributes":[5]}', 'Expected null'],
      ['{"LookupAttributes":[{"AttributeKey":5,"AttributeValue":"a"}]}', 'NUMBER_VALUE can not be converted to a String'],
      ['{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":true}]}', 'TRUE_VALUE can not be converted to a String'],
      // A type error wins over a constraint broken earlier in the body.
      ['{"MaxResults":99,"NextToken":5}', 'NUMBER_VALUE can not be converted to a String'],
    ];
    for (const [body, message] of cases) {
      const r = await raw(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.__type, 'SerializationException', `${body}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.message, message, body);
    }
  });

  it('treats an explicit null as absent and drops a null list element', async () => {
    for (const body of ['{"MaxResults":null}', '{"NextToken":null,"EventCategory":null,"StartTime":null}', '{"LookupAttributes":[null]}', '{"LookupAttributes":null}']) {
      const r = await raw(body);
      assert.equal(r.status, 200, `${body}: ${JSON.stringify(r.json)}`);
      assert.ok(Array.isArray(r.json['Events']), body);
    }
    const one = await raw('{"LookupAttributes":[null,{"AttributeKey":"EventName","AttributeValue":"LookupEvents"}]}');
    assert.equal(one.status, 200, JSON.stringify(one.json));
    const names = (one.json['Events'] as Array<{ EventName: string }>).map((e) => e.EventName);
    assert.ok(names.length > 0 && names.every((n) => n === 'LookupEvents'), JSON.stringify(names));
  });

  it('keeps the constraint errors for values of the right type', async () => {
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
