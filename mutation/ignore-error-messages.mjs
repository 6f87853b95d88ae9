// A StrykerJS ignorer: mutants inside the *message text* of a thrown error are not run.
// Replacing "SCRAM nonce does not match" with "" changes no behaviour a caller may rely on (the
// error's class, `code`, `party`, `mechanism`, `limit` and `serverError` are what is specified,
// and those stay mutated and tested). Only the message argument is skipped:
//   new FooError(<message>, ...)            message = argument 0
//   new LimitExceededError(limit, <message>, ...)  message = argument 1 (the limit name is API)
//   bad(<message>) / badClientFirst(<message>, ...) / failed(<message>, mechanism, code) / fail(<problem>)
//                                            local helpers that only wrap `new ...Error(message)`
//   decodeUtf8(bytes, <what>, ...) / decodeMessage(bytes, <what>, ...) / fromBase64(text, <what>, ...)
//   checkFieldLength(options, mechanism, <field>, length) / parseField(bytes, <what>, options) (LOGIN)
//   textValue(value, utf8, <what>, ...) / parseDirectives(bytes, <what>, ...) (DIGEST-MD5)
//   checkClientField(value, <what>, mechanism) (OAUTHBEARER, XOAUTH2)
//                                            labels that only go into an error's message
//   <core>.expect(state, <action>) / this.#unexpected(<message>) (lib/core: the action named in
//                                            the USAGE message of a step in the wrong state, and the
//                                            UnexpectedMessageError a client side builds)
// Written as a plain plugin object ({ kind, name, value }) so that it needs no import.

const MESSAGE_HELPERS = new Map([
  ['bad', 0],
  ['badClientFirst', 0],
  ['failed', 0],
  ['fail', 0], // DIGEST-MD5's parsers: `fail(problem)` is `new MalformedMessageError(`${what} ${problem}`)`
  ['decodeUtf8', 1],
  ['decodeMessage', 1],
  ['fromBase64', 1],
  ['checkFieldLength', 2],
  ['parseField', 1], // LOGIN's 'user name' | 'password' label
  ['checkClientField', 1], // oauth.ts: the 'user' | 'token' | 'host' label of the client's USAGE message
  ['textValue', 2], // DIGEST-MD5: the label given to decodeUtf8
  ['parseDirectives', 1], // DIGEST-MD5: 'DIGEST-MD5 response' | 'DIGEST-MD5 challenge', message prefix only
]);

// Methods called on an object (`base.expect(...)`, `this.#unexpected(...)`), by property name.
const MESSAGE_METHODS = new Map([
  ['expect', 1],
  ['#unexpected', 0],
]);

function methodName(property) {
  if (property?.type === 'Identifier') return property.name;
  if (property?.type === 'PrivateName') return `#${property.id.name}`;
  return undefined;
}

function messageIndex(callee, isNew) {
  if (!isNew && callee?.type === 'MemberExpression' && !callee.computed)
    return MESSAGE_METHODS.get(methodName(callee.property)) ?? -1;
  if (callee?.type !== 'Identifier') return -1;
  if (isNew && callee.name === 'LimitExceededError') return 1;
  if (isNew && callee.name.endsWith('Error')) return 0;
  if (!isNew) return MESSAGE_HELPERS.get(callee.name) ?? -1;
  return -1;
}

const errorMessages = {
  shouldIgnore(path) {
    if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
    const parent = path.parentPath;
    if (parent === null || path.listKey !== 'arguments') return undefined;
    const isNew = parent.isNewExpression();
    if (!isNew && !parent.isCallExpression()) return undefined;
    if (messageIndex(parent.node.callee, isNew) !== path.key) return undefined;
    return 'error message text (see mutation/README.md)';
  },
};

export const strykerPlugins = [{ kind: 'Ignore', name: 'error-messages', value: errorMessages }];
