#!/usr/bin/env -S node --initial-old-space-size=128 --max-semi-space-size=32 --min-semi-space-size=16 --no-allocation-site-pretenuring
import { Command } from 'commander';
import { registerAuditExportCommand } from './commands/audit-export.js';
import { registerAuditLookupCommand } from './commands/audit-lookup.js';
import { registerAuditPublicKeyCommand } from './commands/audit-public-key.js';
import { registerAuditVerifyCommand } from './commands/audit-verify.js';
import { registerCaCommand } from './commands/ca.js';
import { registerServerCommand } from './commands/server.js';
import { registerVolumeCommand } from './commands/volume.js';

const program = new Command();
program.name('cipherlake').description('Cipherlake: KMS, encrypted S3 and volumes, with an audit trail').version('0.1.0');
registerServerCommand(program);
registerAuditVerifyCommand(program);
registerAuditPublicKeyCommand(program);
registerAuditLookupCommand(program);
registerAuditExportCommand(program);
registerCaCommand(program);
registerVolumeCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`cipherlake: ${(err as Error).message}\n`);
  process.exit(1);
});
