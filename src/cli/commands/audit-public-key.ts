import type { Command } from 'commander';
import { readAuditPublicKey } from '../open-data-dir.js';
import { auditCommand, configFor, PROCESS_IO, runAndExit, withDataDirOptions, type CliIo, type DataDirFlags } from './audit-group.js';

/**
 * `cipherlake audit public-key`: prints the audit digest public key (SPKI PEM), derived
 * from the KMS audit key's private half, for `audit verify --export --public-key` or an
 * auditor. Returns exit code 0; raises DataDirError when the data directory has no audit
 * key. Never prints private material.
 */
export async function runAuditPublicKey(flags: DataDirFlags, io: CliIo): Promise<number> {
  const key = await readAuditPublicKey(configFor(flags));
  io.out(key.export({ type: 'spki', format: 'pem' }).toString().trimEnd());
  return 0;
}

/** Registers `cipherlake audit public-key`. */
export function registerAuditPublicKeyCommand(program: Command): void {
  withDataDirOptions(auditCommand(program).command('public-key'))
    .description('print the audit digest public key (PEM), e.g. cipherlake audit public-key > audit.pem')
    .action((flags: DataDirFlags) => runAndExit(PROCESS_IO, () => runAuditPublicKey(flags, PROCESS_IO)));
}
