/**
 * GS2 (RFC 5801) as SASL mechanisms use it (SCRAM, RFC 5802; OAUTHBEARER, RFC 7628): the header
 * that opens the client's first message, `gs2-cb-flag "," [gs2-authzid] ","`, and the saslname
 * encoding of names inside it (`=` as `=3D`, `,` as `=2C`).
 * @module
 */
import { utf8 } from '../core/bytes.js';
import { LimitExceededError, MalformedMessageError } from '../core/errors.js';

// cb-name = 1*(ALPHA / DIGIT / "." / "-")
const CB_NAME = /^[A-Za-z0-9.-]+$/;
// UTF8-char-safe excludes NUL, "," and "="; an "=" may only start one of the two escapes.
const BAD_SASLNAME = /[\0,]|=(?!2C|3D)/;

/** Escapes a GS2 saslname (RFC 5801): `=` as `=3D`, `,` as `=2C`. */
export function escapeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/**
 * Unescapes a GS2 saslname. Throws {@link MalformedMessageError} (blamed on the client, which
 * sends saslnames) for an empty name, an `=` not followed by `2C` or `3D`, a raw `,` or a NUL:
 * RFC 5801 allows none of them.
 */
export function unescapeSaslname(name: string, mechanism?: string): string {
  if (name === '' || BAD_SASLNAME.test(name))
    throw new MalformedMessageError('saslname is empty or badly escaped', { mechanism, party: 'client' });
  return name.replace(/=2C|=3D/g, (escape) => (escape === '=2C' ? ',' : '='));
}

/** A parsed GS2 header. */
export interface Gs2Header {
  /** `n`: the client does not bind; `y`: it could, but believes the server cannot; `p`: it binds. */
  readonly flag: 'n' | 'y' | 'p';
  /** The channel-binding type named by `p=`; `''` for `n` and `y`. */
  readonly cbName: string;
  /** The authorization identity (`a=`), unescaped; `''` when absent. */
  readonly authzid: string;
  /** The header as sent, through its second comma: SCRAM's `c=` repeats it byte for byte. */
  readonly text: string;
}

/**
 * The GS2 header a client sends: `n,,`, `y,,` or `p=<cb-name>,,`, with `a=<authzid>` (escaped)
 * between the commas when an authorization identity is given.
 */
export function formatGs2Header(flag: 'n' | 'y' | 'p', cbName = '', authzid = ''): string {
  const cbind = flag === 'p' ? `p=${cbName}` : flag;
  return `${cbind},${authzid === '' ? '' : `a=${escapeSaslname(authzid)}`},`;
}

/**
 * Parses the GS2 header at the start of a client message and returns it with the rest of the
 * message. The non-standard flag `F,` is refused: it belongs to GSS-API mechanisms, not to
 * SCRAM or OAUTHBEARER. What the flag may be is the mechanism's decision, not this parser's.
 * Throws {@link MalformedMessageError}, blamed on the client; with `maxAuthzidBytes`, a
 * {@link LimitExceededError} (`maxFieldBytes`) for a longer authzid, counted as sent (escaped,
 * without `a=`) and checked before it is unescaped.
 */
export function parseGs2Header(
  message: string,
  mechanism?: string,
  maxAuthzidBytes?: number,
): { readonly header: Gs2Header; readonly rest: string } {
  const bad = (why: string): MalformedMessageError =>
    new MalformedMessageError(`GS2 header ${why}`, { mechanism, party: 'client' });
  const first = message.indexOf(',');
  const second = first === -1 ? -1 : message.indexOf(',', first + 1);
  if (second === -1) throw bad('is incomplete');
  const cbind = message.slice(0, first);
  let flag: Gs2Header['flag'];
  let cbName = '';
  if (cbind === 'n' || cbind === 'y') flag = cbind;
  else if (cbind.startsWith('p=') && CB_NAME.test(cbind.slice(2))) {
    flag = 'p';
    cbName = cbind.slice(2);
  } else throw bad('has an invalid channel-binding flag');
  let authzid = '';
  if (second > first + 1) {
    const authzidPart = message.slice(first + 1, second);
    if (!authzidPart.startsWith('a=')) throw bad('has an invalid authzid');
    if (maxAuthzidBytes !== undefined && utf8(authzidPart).length - 2 > maxAuthzidBytes) {
      throw new LimitExceededError('maxFieldBytes', `GS2 authzid is longer than ${maxAuthzidBytes} bytes`, {
        mechanism,
        party: 'client',
      });
    }
    authzid = unescapeSaslname(authzidPart.slice(2), mechanism);
  }
  return { header: { flag, cbName, authzid, text: message.slice(0, second + 1) }, rest: message.slice(second + 1) };
}
