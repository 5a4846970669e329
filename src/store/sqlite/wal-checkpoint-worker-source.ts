/**
 * The program of the WalCheckpointer's worker thread, plain CommonJS so it runs as an eval
 * worker both under tsx and from compiled output (no second entry file to ship or resolve).
 *
 * workerData: `{ path, sqlite }` — the database file and the resolved path of better-sqlite3
 * (an eval worker resolves bare names from the working directory, not from this package).
 * It opens its own connection with synchronous=FULL, so each checkpoint syncs the WAL
 * before copying frames and the database file after, and never writes a row itself.
 *
 * Messages: `{ op: 'checkpoint', id }` runs `PRAGMA wal_checkpoint(PASSIVE)` — it copies
 * committed frames only, and never waits for or blocks a reader or the writer — and
 * replies `{ id, busy, log, checkpointed }` (SQLite's three columns) or `{ id, error }`
 * (message only: a checkpoint error names no data). `{ op: 'close' }` runs a last PASSIVE
 * checkpoint, closes the connection and ends the thread.
 */
export const WAL_CHECKPOINT_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
parentPort.on('message', (msg) => {
  if (msg.op === 'close') {
    try { checkpoint(); } catch {}
    db.close();
    parentPort.close();
    return;
  }
  try {
    const r = checkpoint();
    parentPort.postMessage({ id: msg.id, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err && err.message) });
  }
});
`;
