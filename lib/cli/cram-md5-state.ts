/**
 * CRAM-MD5 for `saslkit serve`'s users file, whose `{CRAM-MD5}` lines are Dovecot's HMAC-MD5
 * states ({@link CramMd5StateIdentity}, the library's): the library's CRAM-MD5 server needs the
 * clear password, so this one also answers from the states.
 * @module
 */
import {
  AuthenticationFailedError,
  CRAM_MD5,
  CramMd5StateIdentity,
  type Mechanism,
  MechanismUnavailableError,
  UnexpectedMessageError,
  authorize,
  challenge,
  constantTimeEqual,
  cramMd5Challenge,
  lookupEffect,
  parseCramMd5Response,
  perform,
} from '../index.js';

const NAME = 'CRAM-MD5';

/**
 * CRAM-MD5 whose server also checks accounts stored as {@link CramMd5StateIdentity}; other
 * accounts go through the library's check ({@link CramMD5Credentials.verify}), an unknown user
 * costs the same HMAC as a wrong password. The client is the library's.
 */
export const CRAM_MD5_WITH_STATES: Mechanism = {
  ...CRAM_MD5,
  *server(options, initial) {
    if (initial !== undefined)
      throw new UnexpectedMessageError('CRAM-MD5 is server-first: an initial response is not allowed', {
        mechanism: NAME,
        party: 'client',
      });
    const bytes = cramMd5Challenge(options.hostname);
    const claimed = parseCramMd5Response(yield* challenge(bytes), bytes, options);
    const identity = yield* perform(lookupEffect(options, NAME, claimed.authcid));
    let ok: boolean;
    if (identity instanceof CramMd5StateIdentity) {
      ok = constantTimeEqual(identity.cramMd5Digest(bytes), claimed.digest);
    } else {
      const unusable = identity !== undefined && identity.getClearSecret() === undefined;
      ok = claimed.verify(unusable ? undefined : identity);
      if (unusable)
        throw new MechanismUnavailableError(
          'CRAM-MD5 needs the clear-text secret or Dovecot CRAM-MD5 states of this account',
          { mechanism: NAME, party: 'local' },
        );
    }
    if (!ok || identity === undefined)
      throw new AuthenticationFailedError(undefined, { mechanism: NAME, party: 'client' });
    const authzid = yield* authorize(options, NAME, identity.authcid, '');
    return { mechanism: NAME, authcid: identity.authcid, authzid, identity };
  },
};
