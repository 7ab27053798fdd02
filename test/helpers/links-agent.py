#!/usr/bin/python3
"""Traffic agent of the links tests: exact byte counts over real TCP sockets.

server: listens, then for each of --conns connections reads exactly --recv bytes (recv or splice),
        answers exactly --send bytes (send, sendfile or partial writes) and closes after the
        client's EOF. Prints "ready" once listening and "done" after the last connection.
client: --conns connections one after another: sends --send bytes, reads --recv bytes, closes.
        With --wait-stdin, connects first, prints "connected", and only sends after a line on stdin.
churn:  --conns short connections, --burst of them opened at once before any is closed (and held
        --hold-ms); each sends one byte and reads one byte. Prints "open N SECONDS" per burst.
churn-server: its peer, holding each burst until its clients hang up.
Every loop is bounded; every socket operation has a timeout.
"""
import argparse
import os
import select
import socket
import sys
import tempfile
import time

TIMEOUT = 20.0


def family_of(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def recv_exact(sock, n, mode):
    got = 0
    if mode == 'splice':
        r, w = os.pipe()
        try:
            while got < n:
                # The socket is non-blocking (it has a timeout): wait for data, then splice it.
                if not select.select([sock], [], [], TIMEOUT)[0]:
                    raise RuntimeError(f'timed out after {got} of {n} bytes')
                try:
                    k = os.splice(sock.fileno(), w, min(65536, n - got))
                except BlockingIOError:
                    continue
                if k == 0:
                    raise RuntimeError(f'EOF after {got} of {n} bytes')
                got += k
                left = k
                while left:
                    left -= len(os.read(r, left))
        finally:
            os.close(r)
            os.close(w)
        return
    while got < n:
        b = sock.recv(min(65536, n - got))
        if not b:
            raise RuntimeError(f'EOF after {got} of {n} bytes')
        got += len(b)


def send_exact(sock, n, mode, payload_file):
    if mode == 'sendfile':
        off = 0
        while off < n:
            # Non-blocking socket (it has a timeout): wait until it can take more.
            if not select.select([], [sock], [], TIMEOUT)[1]:
                raise RuntimeError(f'timed out after sending {off} of {n} bytes')
            try:
                off += os.sendfile(sock.fileno(), payload_file.fileno(), off, n - off)
            except BlockingIOError:
                pass
        return
    if mode == 'partial':
        # Small, odd-sized writes: many sendmsg calls, none a multiple of the MSS.
        chunk = b'p' * 777
        sent = 0
        while sent < n:
            sent += sock.send(chunk[: min(777, n - sent)])
        return
    sock.sendall(b's' * n)


def wait_eof(sock):
    for _ in range(1000):
        if not sock.recv(65536):
            return
    raise RuntimeError('peer kept sending after its payload')


def server(a):
    payload = None
    if a.send_mode == 'sendfile':
        payload = tempfile.TemporaryFile()
        payload.write(b'f' * a.send)
        payload.flush()
    ls = socket.socket(family_of(a.host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(1024)
    ls.settimeout(TIMEOUT)
    print('ready', flush=True)
    for _ in range(a.conns):
        c, _ = ls.accept()
        c.settimeout(TIMEOUT)
        recv_exact(c, a.recv, a.recv_mode)
        send_exact(c, a.send, a.send_mode, payload)
        if not a.close_first:
            wait_eof(c)
        c.close()
    print('done', flush=True)


def client(a):
    for _ in range(a.conns):
        s = socket.socket(family_of(a.host), socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect((a.host, a.port))
        if a.wait_stdin:
            print('connected', flush=True)
            if not sys.stdin.readline():
                raise RuntimeError('stdin closed before the go line')
        send_exact(s, a.send, 'send', None)
        recv_exact(s, a.recv, a.recv_mode)
        s.shutdown(socket.SHUT_WR)
        wait_eof(s)
        s.close()
    print('done', flush=True)


def churn_server(a):
    ls = socket.socket(family_of(a.host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(4096)
    ls.settimeout(TIMEOUT)
    print('ready', flush=True)
    left = a.conns
    while left > 0:
        # A whole burst stays open until its clients hang up, as they only do once all answered.
        held = []
        for _ in range(min(a.burst, left)):
            c, _ = ls.accept()
            c.settimeout(TIMEOUT)
            recv_exact(c, 1, 'recv')
            c.sendall(b'y')
            held.append(c)
        for c in held:
            wait_eof(c)
            c.close()
        left -= len(held)
    print('done', flush=True)


def churn(a):
    left = a.conns
    while left > 0:
        n = min(a.burst, left)
        socks = []
        t0 = time.monotonic()
        for _ in range(n):
            s = socket.socket(family_of(a.host), socket.SOCK_STREAM)
            s.settimeout(TIMEOUT)
            s.connect((a.host, a.port))
            socks.append(s)
        opened = time.monotonic() - t0
        for s in socks:
            s.sendall(b'x')
        for s in socks:
            recv_exact(s, 1, 'recv')
        print(f'open {n} {opened:.3f}', flush=True)
        time.sleep(a.hold_ms / 1000)
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        for s in socks:
            wait_eof(s)
            s.close()
        left -= n
    print(f'done {a.conns}', flush=True)


def refused(a):
    for _ in range(a.conns):
        s = socket.socket(family_of(a.host), socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        try:
            s.connect((a.host, a.port))
            raise RuntimeError('connect unexpectedly succeeded')
        except (ConnectionRefusedError, TimeoutError, socket.timeout, OSError) as e:
            print(f'failed {type(e).__name__}', flush=True)
        finally:
            s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client', 'churn', 'churn-server', 'fail'])
    p.add_argument('--host', required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--conns', type=int, default=1)
    p.add_argument('--send', type=int, default=0)
    p.add_argument('--recv', type=int, default=0)
    p.add_argument('--send-mode', choices=['send', 'sendfile', 'partial'], default='send')
    p.add_argument('--recv-mode', choices=['recv', 'splice'], default='recv')
    p.add_argument('--burst', type=int, default=250)
    p.add_argument('--wait-stdin', action='store_true')
    p.add_argument('--hold-ms', type=int, default=0)
    p.add_argument('--close-first', action='store_true', help='server: close without waiting for the client to hang up')
    a = p.parse_args()
    {'server': server, 'client': client, 'churn': churn, 'churn-server': churn_server, 'fail': refused}[a.role](a)


if __name__ == '__main__':
    main()
