/**
 * A child process for fd-exhaustion.test.ts: the listeners alone (plain HTTP on an
 * ephemeral loopback port, answering `ok`), its URL printed on stdout, errors logged as
 * JSON lines on stderr. The test runs it with a low file descriptor limit.
 */
import pino from 'pino';
import { startListeners } from '../../src/net/listeners.js';

const listeners = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [] }, (_req, res) => res.end('ok'), pino({ level: 'error' }, process.stderr));
process.stdout.write(`${listeners.http}\n`);
process.on('SIGTERM', () => void listeners.close().then(() => process.exit(0)));
