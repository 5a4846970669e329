import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { startCipherlake } from '../../main.js';

/** `cipherlake server`: starts every part on the configured listeners until SIGTERM/SIGINT. */
export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('start the Cipherlake server (KMS, S3, volumes) on the configured endpoint')
    .option('-c, --config <file>', 'JSON config file (also CIPHERLAKE_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (also CIPHERLAKE_DATA_DIR; default ./.cipherlake)')
    .option('--host <address>', 'HTTP listen address (default 127.0.0.1)')
    .option('-p, --port <port>', 'HTTP port (default 9080)', (v) => Number.parseInt(v, 10))
    .option('--https-port <port>', 'HTTPS port (also CIPHERLAKE_HTTPS_PORT; default 9443)', (v) => Number.parseInt(v, 10))
    .option('--region <region>', 'region in ARNs and responses (default us-east-1)')
    .option('--account-id <id>', '12-digit account id in ARNs (default 000000000000)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (opts: ConfigFlags) => {
      const config = loadConfig(opts);
      const running = await startCipherlake(config);
      printBanner(running.endpoint, config.region, running.credentials.accessKeyId, running.credentials.secretAccessKey, running.credentialsCreated, config.dataDir);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.log.info({ signal }, 'shutting down');
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            running.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

/**
 * Prints the endpoint and credentials for a person at the terminal (stderr, not the log
 * stream). The secret is shown only on the first start, when it was just created.
 */
function printBanner(endpoint: string, region: string, accessKeyId: string, secret: string, created: boolean, dataDir: string): void {
  const lines = [
    '',
    `Cipherlake is listening on ${endpoint}`,
    `  region:            ${region}`,
    `  access key id:     ${accessKeyId}`,
    created ? `  secret access key: ${secret}` : `  secret access key: (in ${dataDir}/credentials.json)`,
    '',
    `  export AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> AWS_REGION=${region}`,
    `  aws --endpoint-url ${endpoint} kms list-keys`,
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
