import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { ensureCa } from '../../net/tls/index.js';

/**
 * `cipherlake ca export`: prints the built-in CA's certificate (PEM) on stdout, for
 * AWS_CA_BUNDLE or a trust store. Creates the CA first if this data directory has none
 * yet (the server would create the same one on start). Never prints the CA key.
 */
export function registerCaCommand(program: Command): void {
  const ca = program.command('ca').description('the built-in certificate authority that signs the HTTPS certificate');
  ca.command('export')
    .description('print the CA certificate (PEM), e.g. cipherlake ca export > ca.pem; export AWS_CA_BUNDLE=ca.pem')
    .option('-c, --config <file>', 'JSON config file (also CIPHERLAKE_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (also CIPHERLAKE_DATA_DIR; default ./.cipherlake)')
    .action((opts: Pick<ConfigFlags, 'config' | 'dataDir'>) => {
      const config = loadConfig(opts);
      const { certPem } = ensureCa(join(config.dataDir, 'tls'), config.tls.keyAlgorithm);
      process.stdout.write(certPem);
    });
}
