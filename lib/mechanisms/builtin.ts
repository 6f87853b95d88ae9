/**
 * The list of built-in mechanisms. Adding a mechanism means adding its file and one entry here.
 * @module
 */
import type { Mechanism } from '../core/mechanism.js';
import { ANONYMOUS } from './anonymous.js';
import { CRAM_MD5 } from './cram-md5.js';
import { EXTERNAL } from './external.js';
import { LOGIN } from './login.js';
import { PLAIN } from './plain.js';
import { XOAUTH2 } from './xoauth2.js';
import { OAUTHBEARER } from './oauthbearer.js';
import { DIGEST_MD5 } from './digest-md5.js';
import {
  SCRAM_SHA_1,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512,
  SCRAM_SHA_512_PLUS,
} from './scram.js';

/** Every built-in mechanism. */
export const BUILTIN_MECHANISMS: readonly Mechanism[] = [
  PLAIN,
  LOGIN,
  CRAM_MD5,
  EXTERNAL,
  ANONYMOUS,
  XOAUTH2,
  OAUTHBEARER,
  DIGEST_MD5,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  SCRAM_SHA_512,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_256_PLUS,
  SCRAM_SHA_512_PLUS,
];
