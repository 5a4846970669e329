import { InvalidArgumentError, type Command } from 'commander';
import { createLogger } from '../../common/logger.js';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { retainFreedHeapForServer } from '../../crypto/index.js';
import { startCipherlake } from '../../main.js';
import { isClusterWorker, notifyPrimaryListening, prepareDataDir, runClusterPrimary } from './server-cluster.js';

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
    .option('--max-connections <n>', 'connections each listener holds at once; more are closed on arrival (also CIPHERLAKE_MAX_CONNECTIONS; default 4096)', parseMaxConnections)
    .option('--workers <n>', 'serve from N node:cluster worker processes sharing the port (default 0: this process serves)', parseWorkers)
    .action(async (opts: ConfigFlags & { workers?: number }) => {
      const config = loadConfig(opts);
      const workers = opts.workers ?? 0;
      if (workers > 0 && !isClusterWorker()) {
        // Root key, credentials, WAL mode, TLS certificates and the audit signing key are settled
        // once, here, before any worker races for them; each worker then journals its own events,
        // the primary's writer thread chains every worker's journal into the one audit chain, and
        // the primary signs the digests (see src/audit/README.md, "Several processes").
        const log = createLogger(config.logLevel);
        const prepared = await prepareDataDir(config, log);
        const { credential, created } = prepared;
        runClusterPrimary(
          workers,
          (endpoint) => printBanner(endpoint, config.region, credential.accessKeyId, credential.secretAccessKey, created, config.dataDir, workers),
          { afterWorkers: () => prepared.close(), log },
        );
        return;
      }
      // Handlers before the start: a cluster worker serves connections as soon as it listens,
      // inside startCipherlake, and a SIGTERM from the primary stopping the cluster must then
      // end in a graceful stop (its requests and audit records finished), not kill it by signal.
      let stop: ((signal: string) => void) | undefined;
      let early: string | undefined;
      let log: { error(fields: object, message: string): void } | undefined;
      let bounded = false;
      const onSignal = (signal: string): void => {
        // From the first signal on, 10 s at most, a start still running included (one stuck
        // would otherwise ignore SIGTERM): kept referenced, a close that never settles (a stuck
        // audit commit) must still end in a non-zero exit, never hang, nor end with 0 once the
        // event loop runs dry.
        if (!bounded) {
          bounded = true;
          setTimeout(() => {
            log?.error({ signal }, 'shutdown did not finish in 10 s');
            process.stderr.write('cipherlake: shutdown did not finish in 10 s\n');
            process.exit(1);
          }, 10_000);
        }
        if (stop !== undefined) stop(signal);
        else early ??= signal;
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
      // This process serves: keep freed segment buffers' heap rather than trim and re-fault it.
      retainFreedHeapForServer();
      const running = await startCipherlake(config, isClusterWorker() ? { clusterWorker: true } : {});
      log = running.log;
      let stopping = false;
      // Called by onSignal only, which bounds the stop's time.
      stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.log.info({ signal }, 'shutting down');
        running.close().then(
          () => {
            // For a person (and the cluster test) reading the primary's stderr: how much this worker served.
            if (isClusterWorker()) process.stderr.write(`cipherlake: worker ${process.pid} stopped; it appended ${running.audit.stats().records} audit events\n`);
            process.exit(0);
          },
          (err: unknown) => {
            // E.g. the final audit digest could not be written: exit non-zero, and say why where a person looks.
            running.log.error({ err }, 'shutdown failed');
            process.stderr.write(`cipherlake: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      // A worker whose primary is gone (even by SIGKILL) must not keep serving alone. node:cluster's
      // own 'disconnect' handler, registered first, already exits such a worker at once (exit
      // code 0, no graceful close: what it answered is journaled, the next start recovers it);
      // this one serves a disconnect the primary asked for (worker.disconnect()), on which
      // node:cluster does not exit.
      if (isClusterWorker()) process.on('disconnect', () => onSignal('disconnect'));
      if (early !== undefined) {
        stop(early);
        return;
      }
      // The banner comes last: whoever waits for it may signal at once, and the handlers are in place.
      if (isClusterWorker()) notifyPrimaryListening(running.endpoint);
      else printBanner(running.endpoint, config.region, running.credentials.accessKeyId, running.credentials.secretAccessKey, running.credentialsCreated, config.dataDir, 0);
      if (!isClusterWorker()) printTlsBanner(running.httpsEndpoint, running.endpoints, config.dataDir);
    });
}

/**
 * Prints the endpoint and credentials for a person at the terminal (stderr, not the log
 * stream). The secret is shown only on the first start, when it was just created.
 */
function printBanner(endpoint: string, region: string, accessKeyId: string, secret: string, created: boolean, dataDir: string, workers: number): void {
  const lines = [
    '',
    `Cipherlake is listening on ${endpoint}${workers > 0 ? ` (${workers} worker processes)` : ''}`,
    `  region:            ${region}`,
    `  access key id:     ${accessKeyId}`,
    created ? `  secret access key: ${secret}` : `  secret access key: (in ${dataDir}/credentials.json)`,
    '',
    `  export AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> AWS_REGION=${region} AWS_DEFAULT_REGION=${region}`,
    `  aws --endpoint-url ${endpoint} kms list-keys`,
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

function parseMaxConnections(value: string): number {
  const n = Number(value);
  // The range is loadConfig's (it raises ConfigError); here only what is not a number at all.
  if (!Number.isInteger(n)) throw new InvalidArgumentError('--max-connections must be an integer');
  return n;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('--workers must be an integer from 0 to 256');
  return n;
}

/** Tells a person where HTTPS and the private endpoints listen, and how to trust the built-in CA. */
function printTlsBanner(https: string | undefined, endpoints: Readonly<Record<string, string>>, dataDir: string): void {
  const lines = [
    ...(https !== undefined ? [`  HTTPS:             ${https}  (trust: cipherlake ca export --data-dir ${dataDir} > ca.pem; AWS_CA_BUNDLE=ca.pem)`] : []),
    ...Object.entries(endpoints).map(([id, url]) => `  private endpoint:  ${id} ${url}`),
  ];
  if (lines.length > 0) process.stderr.write(lines.join('\n') + '\n\n');
}
