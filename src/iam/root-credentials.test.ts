import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RootCredentialsFileError } from './errors.js';
import { loadRootCredentials, parseStoredRootCredentials } from './root-credentials.js';

const SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00';
const dir = mkdtempSync(join(tmpdir(), 'cipherlake-root-creds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('stored root credentials', () => {
  it('reads a well-formed credentials.json', () => {
    const text = JSON.stringify({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET });
    assert.deepEqual(parseStoredRootCredentials(text, 'credentials.json'), { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET });
  });

  it('refuses a damaged file without quoting it, in the message or a cause', () => {
    // JSON.parse's own message would quote the text around each of these faults.
    const damaged = [`{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":${SECRET}}`, `{"secretAccessKey":"${SECRET}" x`, `${SECRET}`, `{"accessKeyId":1,"secretAccessKey":"${SECRET}"}`, 'null'];
    for (const text of damaged) {
      assert.throws(() => parseStoredRootCredentials(text, '/d/credentials.json'), (err: unknown) => {
        assert.ok(err instanceof RootCredentialsFileError, String(err));
        assert.match(err.message, /\/d\/credentials\.json/);
        const shown = `${err.message} ${String(err.stack)} ${String(err.cause)}`;
        assert.ok(!shown.includes(SECRET.slice(0, 8)), `secret quoted for ${text}: ${shown}`);
        return true;
      });
    }
  });

  it('loadRootCredentials raises the same for a damaged file on disk', () => {
    writeFileSync(join(dir, 'credentials.json'), `{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":${SECRET}}`);
    assert.throws(() => loadRootCredentials(dir, '111122223333'), (err: unknown) => err instanceof RootCredentialsFileError && !err.message.includes(SECRET.slice(0, 8)));
  });
});
