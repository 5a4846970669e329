import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CipherlakeConfig } from '../config/config.js';
import { parseStoredRootCredentials } from '../iam/index.js';
import { DataDirError } from './errors.js';
import type { ClientCredentials } from './sigv4-client.js';

/**
 * The root credentials a CLI command signs its requests with: fixed ones from the
 * environment (CIPHERLAKE_ROOT_ACCESS_KEY_ID / _SECRET_ACCESS_KEY), else those the server
 * keeps in DATA_DIR/credentials.json. Raises DataDirError when there are none, and
 * RootCredentialsFileError when the file does not hold them; never prints or logs the secret.
 */
export function cliRootCredentials(config: CipherlakeConfig): ClientCredentials {
  if (config.rootCredentials !== undefined) return config.rootCredentials;
  const path = join(config.dataDir, 'credentials.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DataDirError(`no root credentials: set CIPHERLAKE_ROOT_ACCESS_KEY_ID/CIPHERLAKE_ROOT_SECRET_ACCESS_KEY or use --data-dir (no ${path})`);
  }
  return parseStoredRootCredentials(text, path);
}
