/**
 * The list of built-in mechanisms. Adding a mechanism means adding its file and one entry here.
 * @module
 */
import type { Mechanism } from '../mechanism.js';
import { PLAIN } from './plain.js';
import { SCRAM_SHA_1, SCRAM_SHA_1_PLUS, SCRAM_SHA_256, SCRAM_SHA_256_PLUS, SCRAM_SHA_512, SCRAM_SHA_512_PLUS } from './scram.js';

/** Every built-in mechanism. */
export const BUILTIN_MECHANISMS: readonly Mechanism[] = [PLAIN,
  SCRAM_SHA_1, SCRAM_SHA_256, SCRAM_SHA_512, SCRAM_SHA_1_PLUS, SCRAM_SHA_256_PLUS, SCRAM_SHA_512_PLUS];
