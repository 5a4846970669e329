import { pino, type Logger } from 'pino';

/** Field paths the logger always redacts, wherever they appear. */
const REDACT = [
  'secretAccessKey',
  '*.secretAccessKey',
  'passphrase',
  '*.passphrase',
  'plaintext',
  '*.plaintext',
  'Plaintext',
  '*.Plaintext',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-amz-server-side-encryption-customer-key"]',
];

/** The structured logger (pino, JSON lines on stdout). Known secret fields are redacted. */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'cipherlake' } });
}
