import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameName, isAuditFrame, PerfScriptReader, placeOf, profileTables, type Frame, type Stack } from '../../bench/audit-profile.js';

// audit-bench --perf's reading of `perf script` and its tables (bench/audit-profile.ts): which
// samples it keeps, what it counts as the trail's code, and that the µs per request add up.

const PERF_SCRIPT = `101 
\t    7f5edb1d275c JS:*member file:///work/main/dist/src/audit/encode-event.js:87:16 (/tmp/perf-101.map)
\t    7f5edb163221 JS:*record file:///work/main/dist/src/net/edge-audit.js:39:17 (/tmp/perf-101.map)
\t          c494db v8::internal::(anonymous namespace)::Invoke (/usr/bin/node)

202 
\t           97e6d _int_malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)

101 
\t           4d2 pvm_irq_enable ([kernel.kallsyms])
\t               0 [unknown] ([unknown])

303 
\t           97e6d _int_malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)

  404 
\t           4d2 pvm_irq_enable ([kernel.kallsyms])
`;

const js = (name: string, file: string, tier = '*'): Frame => ({ sym: `JS:${tier}${name} file:///w/dist/src/${file}:1:1`, dso: '/tmp/perf-1.map' });
const native = (sym: string, dso = '/usr/bin/node'): Frame => ({ sym, dso });

describe('audit-bench --perf', () => {
  it('reads perf script: the samples of the threads asked for, each frame with its object', () => {
    const reader = new PerfScriptReader([101, 202, 404]);
    for (const line of PERF_SCRIPT.split('\n')) reader.line(line);
    reader.end();
    const main = reader.stacks.get(101)!;
    assert.equal(main.length, 2);
    assert.deepEqual(main[0]!.map((f) => f.dso), ['/tmp/perf-101.map', '/tmp/perf-101.map', '/usr/bin/node']);
    assert.equal(main[0]![2]!.sym, 'v8::internal::(anonymous namespace)::Invoke');
    assert.deepEqual(main[1], [native('pvm_irq_enable', '[kernel.kallsyms]'), native('[unknown]', '[unknown]')]);
    assert.deepEqual(reader.stacks.get(202), [[native('_int_malloc', '/usr/lib/x86_64-linux-gnu/libc.so.6')]]);
    assert.equal(reader.stacks.has(303), false);
    // A tid shorter than others comes right-aligned: still a sample's first line, not a frame.
    assert.deepEqual(reader.stacks.get(404), [[native('pvm_irq_enable', '[kernel.kallsyms]')]]);
  });

  it('the trail code: the audit module, the record builders, the journal and the S3 answer hold, not the rest', () => {
    assert.ok(isAuditFrame(js('encodeObject', 'audit/encode-event.js')));
    assert.ok(isAuditFrame(js('record', 'net/edge-audit.js', '^')));
    assert.ok(isAuditFrame(js('s3Event', 'net/edge-s3-params.js')));
    assert.ok(isAuditFrame(js('headOf', 'store/sqlite/audit-writer-client.js')));
    assert.ok(isAuditFrame(js('#writeHead', 's3/wire/handler.js')));
    assert.ok(!isAuditFrame(js('handle', 's3/wire/handler.js')));
    assert.ok(!isAuditFrame(js('putObject', 'store/sqlite/s3-metadata-store.js')));
    // A native function is the place it runs in, whoever called it.
    assert.ok(!isAuditFrame(native('v8::internal::String::WriteToFlat<unsigned char>')));
    assert.equal(placeOf(native('crc32_z')), 'node: V8 runtime, builtins, GC, libuv');
    assert.equal(placeOf(native('sqlite3VdbeExec', '/w/node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'SQLite (better-sqlite3)');
    // One function whichever tier V8 ran it in.
    assert.equal(frameName(js('record', 'net/edge-audit.js', '^')), frameName(js('record', 'net/edge-audit.js', '*')));
    assert.equal(frameName(js('record', 'net/edge-audit.js')), 'JS:record src/net/edge-audit.js:1:1');
  });

  it('tables in µs per request: each sample weighs its thread CPU per request over its samples', () => {
    const encode: Stack = [js('encodeObject', 'audit/encode-event.js'), js('record', 'net/edge-audit.js'), js('handle', 's3/wire/handler.js')];
    const flatten: Stack = [native('v8::internal::String::WriteToFlat<unsigned char>'), js('drain', 'audit/trail-append-queue.js'), js('processImmediate', 'node-timers.js')];
    const handle: Stack = [js('handle', 's3/wire/handler.js')];
    const write: Stack = [native('vfs_write', '[kernel.kallsyms]')];
    // Audited: 60 µs per request over 6 samples (10 each); unaudited: 40 over 4.
    const text = profileTables([
      { name: 'on', stacks: [encode, encode, flatten, handle, handle, write], mainUsPerRequest: 60 },
      { name: 'off', stacks: [handle, handle, handle, write], mainUsPerRequest: 40 },
    ]);
    const row = (start: string): string[] => {
      const line = text.split('\n').find((l) => l.startsWith(start));
      assert.ok(line !== undefined, `a line starting ${start} in:\n${text}`);
      return line.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim());
    };
    assert.deepEqual(row('| JavaScript: the rest |').slice(1), ['20.0', '30.0', '-10.0']);
    assert.deepEqual(row('| JavaScript: the audit trail |').slice(1), ['20.0', '0.0', '+20.0']);
    assert.deepEqual(row('| kernel ').slice(1), ['10.0', '10.0', '+0.0']);
    assert.deepEqual(row('| all |').slice(1), ['60.0', '40.0', '+20.0']);
    // Inclusive: the flattening counts under the drain that called it; the encoding under record, its outermost trail frame.
    assert.match(text, /under the audit trail's code, 30\.0 µs per request of the \+20\.0/);
    assert.deepEqual(row('| JS:record src/net/edge-audit.js').slice(1, 2), ['20.0']);
    assert.equal(row('| JS:drain src/audit/trail-append-queue.js')[2], 'v8::internal::String::WriteToFlat<unsigned char> 10.0');
    assert.deepEqual(row('| JS:encodeObject src/audit/encode-event.js').slice(1), ['20.0', '0.0', '+20.0']);
    assert.deepEqual(row('| JS:handle src/s3/wire/handler.js').slice(1), ['20.0', '30.0', '-10.0']);
  });
});
