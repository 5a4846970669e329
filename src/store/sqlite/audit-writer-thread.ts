// The audit store's writer thread (see AuditWriterThread): its own connection to audit.db,
// the append statements prepared once, one message = one transaction, answered in order.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareAuditAppender } from './audit-append.js';
import type { WriterRequest, WriterReply, WriterThreadData } from './audit-writer.js';

const data = workerData as WriterThreadData;
const db = new Database(data.path);
db.pragma('busy_timeout = 5000');
// synchronous is per connection: this one makes the commits, so it carries the durability.
db.pragma(`synchronous = ${data.synchronous}`);
const appender = prepareAuditAppender(db);

parentPort?.on('message', (m: WriterRequest) => {
  if (m.op === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  let reply: WriterReply;
  try {
    if (m.op === 'batch') appender.appendBatch(m.records);
    else appender.appendDigest(m.digest);
    reply = { id: m.id, ok: true };
  } catch (error) {
    reply = { id: m.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
