"""Registers the test accounts with Atheme's NickServ through InspIRCd, once the services link.

Usage: register.py PORT USER:PASS[:CERTFP] ...  (CERTFP: a SHA-256 client certificate
fingerprint that NickServ CERT ADD attaches to the account, for SASL EXTERNAL).
Bounded: gives up after about 20 s.
"""
import socket
import sys
import time

DEADLINE = time.monotonic() + 20


def lines(sock):
    buffer = b''
    while True:
        sock.settimeout(max(0.1, DEADLINE - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit('server closed the connection')
        buffer += chunk
        while b'\r\n' in buffer:
            line, buffer = buffer.split(b'\r\n', 1)
            text = line.decode('utf-8', 'replace')
            print('<', text, flush=True)
            if text.startswith('PING '):
                sock.sendall(('PONG ' + text[5:] + '\r\n').encode())
                continue
            yield text


def send(sock, text):
    print('>', text, flush=True)
    sock.sendall((text + '\r\n').encode())


def nickserv(sock, reader, command, done):
    """Sends a NickServ command until services answer (401: not linked yet) and `done` matches."""
    while time.monotonic() < DEADLINE:
        send(sock, 'PRIVMSG NickServ :' + command)
        for line in reader:
            parts = line.split(' ')
            if len(parts) > 1 and parts[1] == '401':
                time.sleep(0.2)
                break
            if line.startswith(':NickServ!') and ' NOTICE ' in line:
                text = line.split(' :', 1)[1]
                if done(text):
                    return text
                raise SystemExit('NickServ refused: ' + text)
    raise SystemExit('timed out waiting for NickServ')


def register(port, spec):
    user, password, *rest = spec.split(':')
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    reader = lines(sock)
    send(sock, 'NICK ' + user)
    send(sock, 'USER ' + user + ' 0 * :' + user)
    for line in reader:
        if line.split(' ')[1:2] == ['001']:
            break
    nickserv(sock, reader, 'REGISTER ' + password + ' ' + user + '@example.test',
             lambda text: 'registered' in text)
    if rest and rest[0]:
        nickserv(sock, reader, 'CERT ADD ' + rest[0], lambda text: 'Added' in text or 'added' in text)
    send(sock, 'QUIT :registered')
    sock.close()


for account in sys.argv[2:]:
    register(int(sys.argv[1]), account)
print('accounts registered', flush=True)
