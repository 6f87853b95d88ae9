/**
 * The list of built-in mechanisms. Adding a mechanism means adding its file and one entry here.
 * @module
 */
import type { Mechanism } from '../mechanism.js';
import { PLAIN } from './plain.js';

/** Every built-in mechanism. */
export const BUILTIN_MECHANISMS: readonly Mechanism[] = [PLAIN];
