#!/usr/bin/env python3
"""reuseport-cost.py - what sharing the listening port costs the kernel.

In single-port mode every transfer's socket is bound to the listening
port and connected to its client.  Kernels from 6.13 find a connected
socket bound to a specific address by a hash of its 4-tuple; a socket
bound to the wildcard address (and every socket on older kernels) is found
by scanning all the sockets on the port, once per datagram.

This script opens N connected SO_REUSEPORT sockets on one port of
127.0.0.1 (standing for N running transfers), bound to 127.0.0.1 (as
snow-owld binds them) or to 0.0.0.0 (no 4-tuple hash), plus a listener,
and times K datagrams to one more connected socket (a transfer's ACKs)
and K datagrams to the listener (new requests).  It prints microseconds
per datagram, send and receive together, for each N and binding.

    sudo tests/bench/reuseport-cost.py [K] [N...]   (defaults 20000; 1 256 1024 4096)

Not run by make check or make bench: run it on a quiet machine.  Needs a
file descriptor limit above the largest N (it raises its own soft limit).
"""
import resource
import socket
import sys
import time

K = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
NS = [int(a) for a in sys.argv[2:]] or [1, 256, 1024, 4096]

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def shared(bind_addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((bind_addr, port))
    return s


def per_datagram(tx, rx, dest):
    payload = b"\0\4\0\1"
    t0 = time.perf_counter()
    for _ in range(K):
        tx.sendto(payload, dest)
        rx.recv(64)
    return (time.perf_counter() - t0) / K * 1e6


def run(n, bind_addr):
    listener = shared("0.0.0.0", 0)
    port = listener.getsockname()[1]
    transfers = []
    for i in range(n):
        s = shared(bind_addr, port)
        s.connect(("127.0.0.2", 20000 + i))  # clients that stay silent
        transfers.append(s)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    mine = shared(bind_addr, port)
    mine.connect(client.getsockname())
    to_transfer = per_datagram(client, mine, ("127.0.0.1", port))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.3", 0))
    to_listener = per_datagram(stranger, listener, ("127.0.0.1", port))
    for s in transfers + [listener, client, mine, stranger]:
        s.close()
    return to_transfer, to_listener


print("| transfers on the port | bound to | us/datagram to a transfer | us/datagram to the listener |")
print("|---:|---|---:|---:|")
for n in NS:
    for addr in ("127.0.0.1", "0.0.0.0"):
        a, b = run(n, addr)
        print("| %d | %s | %.2f | %.2f |" % (n, addr, a, b), flush=True)
