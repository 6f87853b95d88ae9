/**
 * sasl-plain (jaredhanson's PLAIN client mechanism for the saslmechanisms factory): `response(cred)`
 * returns the message as a JavaScript string, which a host encodes to UTF-8 before sending.
 */
import { createRequire } from 'node:module';

interface PlainMechanism {
  response(cred: { readonly username: string; readonly password: string; readonly authzid?: string }): string;
}

const load = createRequire(__filename);
const Mechanism = load('sasl-plain') as new () => PlainMechanism;

/** The installed package's version, for the report. */
export const SASL_PLAIN_VERSION = (load('sasl-plain/package.json') as { version: string }).version;

/** One PLAIN client response as bytes, the way a host uses sasl-plain: a new mechanism, `response`, UTF-8. */
export function saslPlainResponse(username: string, password: string): Buffer {
  return Buffer.from(new Mechanism().response({ username, password }), 'utf8');
}
