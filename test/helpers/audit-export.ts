import { runAuditExport, type AuditExportFlags } from '../../src/cli/commands/audit-export.js';
import { capture, type Captured } from './cli-capture.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './server.js';

/** Runs `cipherlake audit export` as the CLI would, with the test server's root credentials in the environment (the offline command reads them there). */
export async function exportWithRootEnv(flags: AuditExportFlags): Promise<Captured> {
  const saved = { id: process.env.CIPHERLAKE_ROOT_ACCESS_KEY_ID, secret: process.env.CIPHERLAKE_ROOT_SECRET_ACCESS_KEY };
  process.env.CIPHERLAKE_ROOT_ACCESS_KEY_ID = TEST_ACCESS_KEY_ID;
  process.env.CIPHERLAKE_ROOT_SECRET_ACCESS_KEY = TEST_SECRET_ACCESS_KEY;
  try {
    return await capture((io) => runAuditExport(flags, io));
  } finally {
    if (saved.id === undefined) delete process.env.CIPHERLAKE_ROOT_ACCESS_KEY_ID;
    else process.env.CIPHERLAKE_ROOT_ACCESS_KEY_ID = saved.id;
    if (saved.secret === undefined) delete process.env.CIPHERLAKE_ROOT_SECRET_ACCESS_KEY;
    else process.env.CIPHERLAKE_ROOT_SECRET_ACCESS_KEY = saved.secret;
  }
}
