import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { sampleEvent } from '../../audit/test-support.js';
import { parseColumnsLine } from './audit-columns.js';
import { encodeAuditBatch } from './audit-writer-client.js';

/** parseColumnsLine over `line` placed inside other bytes: its result, and JSON.parse's (or its error). */
function both(line: string): { fast: unknown[] | undefined; json: unknown } {
  const bytes = Buffer.from(`x["a",1]\n${line}\n[0]`, 'utf8');
  const start = Buffer.byteLength('x["a",1]\n');
  const end = start + Buffer.byteLength(line);
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    json = error instanceof SyntaxError ? 'SyntaxError' : error;
  }
  return { fast: parseColumnsLine(bytes, start, end), json };
}

describe('parseColumnsLine', () => {
  it('reads the columns lines the request thread writes as JSON.parse does', () => {
    for (let i = 1; i <= 40; i++) {
      const line = encodeAuditBatch([encodeAuditEvent(sampleEvent(i))]).split('\n')[0] as string;
      const { fast, json } = both(line);
      assert.notEqual(fast, undefined, line);
      assert.deepEqual(fast, json, line);
    }
  });

  it('returns remembered strings only for the same bytes', () => {
    const names = ['GenerateDataKey', 'GenerateDataKex', 'PutObject', 'Decrypt', 'Encrypt', 'PutObjecu', 'a', 'b', 'c', 'd', 'e', 'GenerateDataKey', 'PutObject'];
    for (let round = 0; round < 3; round++) {
      for (const [k, name] of names.entries()) {
        const line = `["2026-11-28T15:0${k % 10}:00Z",${1_764_342_000_000 + k},"${name}","kms.amazonaws.com",${k % 3 === 0 ? 'null' : `"E${k}"`},${k % 2}]`;
        const { fast, json } = both(line);
        assert.notEqual(fast, undefined, line);
        assert.deepEqual(fast, json, line);
      }
    }
  });

  it('leaves every other shape to JSON.parse (undefined), and never disagrees with it', () => {
    const lines = [
      '["t",1,"n","s",null,0]',
      '["t",0,"","",null,1]',
      '["t",123456789012345,"n","s",null,0]',
      '["t",1234567890123456,"n","s",null,0]', // 16 digits
      '["t",12345678901234567891,"n","s",null,0]', // digit by digit in a double, this rounds otherwise than JSON.parse
      '["t",99999999999999999999,"n","s",null,0]',
      '["t",-1,"n","s",null,0]',
      '["t",1.5,"n","s",null,0]',
      '["t",1e3,"n","s",null,0]',
      '["t",01,"n","s",null,0]',
      '["t",00,"n","s",null,0]',
      '["t", 1,"n","s",null,0]',
      '["t",1,"n","s",null,0] ',
      '["t",1,"n","s",nul,0]',
      '["t",1,"n","s",nulll,0]',
      '["t",1,"n","s",true,0]',
      '["t",1,"n","s",null]',
      '["t",1,"n","s",null,0,7]',
      '["t",1,"n","s",null,0',
      '"t",1,"n","s",null,0]',
      '["t\\"q",1,"n","s",null,0]',
      '["t\\u0041",1,"n","s",null,0]',
      '["tä",1,"n","s",null,0]',
      '["t😀",1,"n","s",null,0]',
      '["t\t",1,"n","s",null,0]',
      '["t",1,"n","s",null,0]]',
      '[]',
      '[',
      '',
      '["t,1,"n","s",null,0]',
      '["t",1,"n","s","AccessDenied",1]',
      '[1,2,3,4,5,6]',
      '[null,null,null,null,null,null]',
      '["a","b","c","d","e","f"]',
    ];
    for (const line of lines) {
      const { fast, json } = both(line);
      if (fast !== undefined) assert.deepEqual(fast, json, line);
    }
    // The ones our encoder never writes are not taken on the fast path.
    for (const line of ['["t",1.5,"n","s",null,0]', '["t\\"q",1,"n","s",null,0]', '["tä",1,"n","s",null,0]', '["t", 1,"n","s",null,0]', '["t",1,"n","s",null]']) {
      assert.equal(both(line).fast, undefined, line);
    }
  });

  it('agrees with JSON.parse on random lines', () => {
    const pieces = ['"', '\\', ',', '[', ']', 'n', 'u', 'l', '0', '1', '9', '-', '.', 'e', ' ', 'a', 'Z', 'ä', '\n', 'null', '"x"', '12'];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const cells = Array.from({ length: 6 }, () => {
        const kind = next(4);
        if (kind === 0) return JSON.stringify(Array.from({ length: next(6) }, () => pieces[next(pieces.length)]).join(''));
        if (kind === 1) return String(next(2) === 0 ? next(10) : next(2_000_000_000) * 1000);
        if (kind === 2) return 'null';
        return Array.from({ length: next(5) }, () => pieces[next(pieces.length)]).join('');
      });
      const line = `[${cells.join(',')}]`;
      const { fast, json } = both(line);
      if (fast !== undefined) assert.deepEqual(fast, json, line);
    }
  });
});
