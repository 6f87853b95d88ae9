/**
 * A throwaway self-signed certificate made at run time with node:crypto only: an ECDSA P-256
 * key and an X.509 v3 certificate for `localhost` and `127.0.0.1`, valid for a few days. The
 * demo runs its servers behind STARTTLS with one (so SCRAM-*-PLUS has channel binding), and
 * `saslkit serve --tls-self-signed` uses one when no certificate is at hand. Nothing is written
 * to disk and no key ships with the package.
 * @module
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** A certificate and its key, in PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

function der(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const length = body.length;
  const head = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...head]), body]);
}

const sequence = (...parts: Uint8Array[]): Buffer => der(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // UTCTime until 2049, GeneralizedTime after (RFC 5280 section 4.1.2.5).
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
}

const commonName = (cn: string): Buffer => sequence(der(0x31, sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));

function pem(label: string, data: Uint8Array): string {
  const lines =
    Buffer.from(data)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Makes a self-signed certificate for `localhost` and 127.0.0.1, valid from yesterday for `days` days. */
export function selfSignedCertificate(days = 7): PemPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const serial = randomBytes(16);
  // Positive (top bit clear) and minimal (first byte not zero): DER refuses a leading zero byte
  // before one under 0x80, which a random serial hit once in 512 runs ("illegal padding").
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  const altNames = sequence(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost')));
  const extensions = der(
    0xa3,
    sequence(
      sequence(oid('2.5.29.17'), der(0x04, altNames)),
      // basicConstraints CA:TRUE, critical: the certificate is its own trust anchor.
      sequence(oid('2.5.29.19'), der(0x01, Buffer.from([0xff])), der(0x04, sequence(der(0x01, Buffer.from([0xff]))))),
    ),
  );
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ecdsaWithSha256,
    commonName('localhost'),
    sequence(time(new Date(now - 86_400_000)), time(new Date(now + days * 86_400_000))),
    commonName('localhost'),
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  return { cert: pem('CERTIFICATE', certificate), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
