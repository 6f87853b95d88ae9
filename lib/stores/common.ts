/**
 * What every store entry point (`saslkit/stores/postgres`, `saslkit/stores/ldap`) exports besides
 * its store, so that each is complete on its own: turning stored values into an identity, their
 * limits, and the OpenLDAP SHA hasher.
 * @module
 */
export {
  type StoredValue,
  type StoredValueOptions,
  DEFAULT_MAX_STORED_VALUE_LENGTH,
  DEFAULT_MAX_STORED_VALUES,
  identityFromValues,
} from './stored.js';
export { type ShaScheme, ShaPasswordHasher } from './ssha.js';
