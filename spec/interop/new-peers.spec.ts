/**
 * Smoke checks of the peers added for issues 13-15 (Prosody, slapd, InspIRCd with Atheme,
 * Dovecot ManageSieve): each one answers and offers the SASL mechanisms that
 * spec/interop/README.md lists for it. A failure here means the harness, not saslkit, is broken.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { type Socket, createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { LineClient } from './line-client.js';
import { HOST, LDAP_BASE, PORTS, TLS_FILES, XMPP_DOMAIN, requirePeer } from './peers.js';
import { runTool } from './tools.js';

const DEADLINE_MS = 10_000;

/** Every socket a spec opens; closed in afterEach even when the spec fails half way. */
const sockets = new Set<Socket>();

function track<T extends Socket>(socket: T): T {
  sockets.add(socket);
  socket.on('error', () => undefined);
  return socket;
}

/** Resolves with the text received on `socket` (from now on) once `done` matches it. */
function receiveUntil(socket: Socket, done: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (done.test(text)) finish(undefined);
    };
    const onClose = (): void => {
      finish(new Error(`connection closed before ${String(done)}; got: ${text}`));
    };
    const timer = setTimeout(() => {
      finish(new Error(`no ${String(done)} within ${DEADLINE_MS} ms; got: ${text}`));
    }, DEADLINE_MS);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

const xmppMechanisms = (features: string): string[] =>
  [...features.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((match) => match[1]!);

const streamOpen = `<?xml version='1.0'?><stream:stream to='${XMPP_DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

/** Opens a c2s stream, STARTTLS, and resolves with the stream features offered over TLS. */
async function xmppFeaturesAfterStarttls(
  maxVersion: 'TLSv1.2' | 'TLSv1.3',
): Promise<{ before: string; after: string; protocol: string | null }> {
  const socket = track(createConnection({ host: HOST, port: PORTS.xmpp }));
  const beforeFeatures = receiveUntil(socket, /<\/stream:features>/);
  socket.write(streamOpen);
  const before = await beforeFeatures;
  const proceed = receiveUntil(socket, /<proceed |<failure /);
  socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  expect(await proceed).to.match(/<proceed /);
  // The certificate is self-signed: these checks are about the mechanism lists, not trust.
  const tls = track(tlsConnect({ socket, servername: XMPP_DOMAIN, rejectUnauthorized: false, maxVersion }));
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', resolve);
    tls.once('error', reject);
  });
  const afterFeatures = receiveUntil(tls, /<\/stream:features>/);
  tls.write(streamOpen);
  return { before, after: await afterFeatures, protocol: tls.getProtocol() };
}

/** One WebSocket text frame from the client (masked, as RFC 6455 requires). */
function wsFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length > 125) throw new Error('only short frames here');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Unmasked server text frames in `data` (lengths up to 65535), and the bytes left over. */
function wsTexts(data: Buffer): { texts: string[]; rest: Buffer } {
  const texts: string[] = [];
  let offset = 0;
  while (data.length - offset >= 2) {
    let length = data[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      if (data.length - offset < 4) break;
      length = data.readUInt16BE(offset + 2);
      start = offset + 4;
    }
    if (data.length < start + length) break;
    texts.push(data.subarray(start, start + length).toString('utf8'));
    offset = start + length;
  }
  return { texts, rest: data.subarray(offset) };
}

/** ldapsearch's values of `attribute` in the RootDSE. */
async function rootDseValues(
  args: readonly string[],
  attribute: string,
  env: Record<string, string> = {},
): Promise<string[]> {
  const run = await runTool('ldapsearch', ['-x', '-LLL', ...args, '-s', 'base', '-b', '', attribute], {
    env: { LDAPTLS_CACERT: TLS_FILES.ldapCa, ...env },
  });
  expect(run.code, run.stderr).to.equal(0);
  const prefix = `${attribute}: `;
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

describe('interop peers (issues 13-15)', function () {
  afterEach(function () {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  });

  describe('Prosody', function () {
    before(async function () {
      await requirePeer(this, 'prosody');
    });

    it('c2s requires STARTTLS, then offers SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN (TLS 1.3: no -PLUS)', async () => {
      const { before, after, protocol } = await xmppFeaturesAfterStarttls('TLSv1.3');
      expect(before).to.match(/<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required\/><\/starttls>/);
      expect(xmppMechanisms(before)).to.deep.equal([]);
      expect(protocol).to.equal('TLSv1.3');
      expect(xmppMechanisms(after)).to.have.members(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    });

    it('over TLS 1.2 also offers SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS (tls-unique)', async () => {
      const { after, protocol } = await xmppFeaturesAfterStarttls('TLSv1.2');
      expect(protocol).to.equal('TLSv1.2');
      expect(xmppMechanisms(after)).to.have.members([
        'SCRAM-SHA-256',
        'SCRAM-SHA-1',
        'PLAIN',
        'SCRAM-SHA-256-PLUS',
        'SCRAM-SHA-1-PLUS',
      ]);
    });

    it('XMPP over WebSocket (RFC 7395) offers SASL without TLS on loopback', async () => {
      const key = randomBytes(16).toString('base64');
      const socket = await new Promise<Socket>((resolve, reject) => {
        const req = request({
          host: HOST,
          port: PORTS.xmppWebSocket,
          path: '/xmpp-websocket',
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Key': key,
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Protocol': 'xmpp',
          },
        });
        req.setTimeout(DEADLINE_MS, () => req.destroy(new Error('no WebSocket upgrade')));
        req.once('upgrade', (response, upgraded) => {
          expect(response.headers['sec-websocket-protocol']).to.equal('xmpp');
          resolve(track(upgraded));
        });
        req.once('response', (response) => {
          reject(new Error(`HTTP ${String(response.statusCode)} instead of an upgrade`));
        });
        req.once('error', reject);
        req.end();
      });
      const received: string[] = [];
      let pending: Buffer = Buffer.alloc(0);
      const features = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no stream features; got ${received.join(' | ')}`));
        }, DEADLINE_MS);
        socket.on('data', (chunk: Buffer) => {
          const { texts, rest } = wsTexts(Buffer.concat([pending, chunk]));
          pending = rest;
          received.push(...texts);
          const found = texts.find((text) => text.includes('<stream:features'));
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          }
        });
      });
      socket.write(wsFrame(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${XMPP_DOMAIN}' version='1.0'/>`));
      expect(xmppMechanisms(await features)).to.have.members(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    });
  });

  describe('OpenLDAP slapd', function () {
    before(async function () {
      await requirePeer(this, 'slapd');
    });

    const plain = [
      'SCRAM-SHA-512',
      'SCRAM-SHA-384',
      'SCRAM-SHA-256',
      'SCRAM-SHA-224',
      'SCRAM-SHA-1',
      'DIGEST-MD5',
      'CRAM-MD5',
      'NTLM',
      'PLAIN',
      'LOGIN',
    ];
    const plus = [
      'SCRAM-SHA-512-PLUS',
      'SCRAM-SHA-384-PLUS',
      'SCRAM-SHA-256-PLUS',
      'SCRAM-SHA-224-PLUS',
      'SCRAM-SHA-1-PLUS',
    ];

    it('lists supportedSASLMechanisms in the RootDSE, without -PLUS before TLS', async () => {
      expect(await rootDseValues(['-H', `ldap://${HOST}:${PORTS.ldap}`], 'supportedSASLMechanisms')).to.have.members(
        plain,
      );
    });

    it('adds the -PLUS mechanisms after StartTLS and on ldaps://', async () => {
      expect(
        await rootDseValues(['-ZZ', '-H', `ldap://${HOST}:${PORTS.ldap}`], 'supportedSASLMechanisms'),
      ).to.have.members([...plain, ...plus]);
      expect(await rootDseValues(['-H', `ldaps://${HOST}:${PORTS.ldaps}`], 'supportedSASLMechanisms')).to.have.members([
        ...plain,
        ...plus,
      ]);
    });

    it("adds EXTERNAL when the client presents alice's certificate, and maps it to her entry", async () => {
      const env = { LDAPTLS_CERT: TLS_FILES.ldapAliceCert, LDAPTLS_KEY: TLS_FILES.ldapAliceKey };
      expect(await rootDseValues(['-H', `ldaps://${HOST}:${PORTS.ldaps}`], 'supportedSASLMechanisms', env)).to.include(
        'EXTERNAL',
      );
      const whoami = await runTool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', `ldaps://${HOST}:${PORTS.ldaps}`], {
        env: { LDAPTLS_CACERT: TLS_FILES.ldapCa, ...env },
      });
      expect(whoami.code, whoami.stderr).to.equal(0);
      expect(whoami.stdout.trim()).to.equal(`dn:uid=alice,ou=people,${LDAP_BASE}`);
    });
  });

  describe('InspIRCd with Atheme', function () {
    before(async function () {
      await requirePeer(this, 'irc');
    });

    it('CAP LS 302 advertises sasl=PLAIN,EXTERNAL, in clear and over TLS', async () => {
      for (const tls of [false, true]) {
        const raw = track(createConnection({ host: HOST, port: tls ? PORTS.ircTls : PORTS.irc }));
        const socket = tls ? track(tlsConnect({ socket: raw, rejectUnauthorized: false })) : raw;
        const reply = receiveUntil(socket, / CAP \* LS :[^\r\n]*\r\n/);
        socket.write('CAP LS 302\r\nNICK capcheck\r\nUSER capcheck 0 * :capcheck\r\n');
        const line = (await reply).split('\r\n').find((text) => text.includes(' CAP * LS :'));
        const sasl = line
          ?.split(' :')[1]
          ?.split(' ')
          .find((cap) => cap.startsWith('sasl='));
        expect(sasl, `${tls ? 'TLS' : 'plain'}: ${line ?? ''}`).to.equal('sasl=PLAIN,EXTERNAL');
        socket.write('QUIT\r\n');
      }
    });
  });

  describe('Dovecot ManageSieve', function () {
    before(async function () {
      await requirePeer(this, 'dovecot-managesieve');
    });

    it('greets with its SASL mechanisms and STARTTLS', async () => {
      const sieve = await LineClient.connect(PORTS.sieve);
      try {
        const greeting = await sieve.readUntil((line) => /^(OK|NO|BYE)\b/.test(line));
        expect(greeting.at(-1)).to.match(/^OK /);
        expect(greeting).to.include('"STARTTLS"');
        const sasl = greeting.find((line) => line.startsWith('"SASL" '));
        expect(sasl, 'SASL capability').to.be.a('string');
        expect(sasl!.slice('"SASL" '.length).replace(/"/g, '').split(' ')).to.have.members([
          'PLAIN',
          'LOGIN',
          'CRAM-MD5',
          'DIGEST-MD5',
          'SCRAM-SHA-1',
          'SCRAM-SHA-256',
          'OAUTHBEARER',
          'XOAUTH2',
        ]);
        sieve.send('LOGOUT');
        await sieve.readUntil((line) => /^(OK|NO|BYE)\b/.test(line));
      } finally {
        sieve.close();
      }
    });
  });
});
