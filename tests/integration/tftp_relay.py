#!/usr/bin/env python3
"""UDP relay that impairs a TFTP session between a client and a server.

The client talks to --listen; the relay forwards to --server and plays the
server's transfer port back to the client from a port of its own, so
clients that lock onto the server's TID keep working.  Chosen packets are
dropped, duplicated or delayed, and every packet is logged, one per line:

    <time_ms> <dir> <OP> <block> [dropped|dup]

with dir "c2s" or "s2c", so a test can check what the server did.

Impairments (block numbers are 16-bit wire numbers; "first" means only the
first time that block passes):
  --drop-data N,...   drop the first DATA with block N, in either direction
  --drop-ack N,...    drop the first ACK with block N
  --swap-data N,...   hold the first DATA with block N and deliver it after
                      the next packet (reordering)
  --dup-ack           send every ACK from the client twice
  --loss PCT          drop DATA and ACK at random, --seed S
  --delay-ms MS       hold every client-to-server packet MS ms (a round trip)
  --spike N:MIN:MAX   hold one ACK in N, in either direction, MIN to MAX ms
                      (a client that answers late now and then); --seed S
"""
import argparse
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

OPS = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}


def describe(pkt):
    if len(pkt) < 2:
        return "SHORT", -1
    op = struct.unpack("!H", pkt[:2])[0]
    name = OPS.get(op, "OP%d" % op)
    block = struct.unpack("!H", pkt[2:4])[0] if op in (3, 4, 5) and len(pkt) >= 4 else -1
    return name, block


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--server", required=True, help="HOST:PORT")
    ap.add_argument("--log", required=True)
    ap.add_argument("--drop-data", default="")
    ap.add_argument("--drop-ack", default="")
    ap.add_argument("--swap-data", default="")
    ap.add_argument("--dup-ack", action="store_true")
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--spike", default="")
    args = ap.parse_args()

    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))
    drop_data = {int(x) for x in args.drop_data.split(",") if x}
    drop_ack = {int(x) for x in args.drop_ack.split(",") if x}
    swap_data = {int(x) for x in args.swap_data.split(",") if x}
    held = {"s2c": [], "c2s": []}   # packets waiting for the next one to pass
    rng = random.Random(args.seed)
    spike_every, spike_min, spike_max = 0, 0.0, 0.0
    if args.spike:
        a, b, c = args.spike.split(":")
        spike_every, spike_min, spike_max = int(a), float(b), float(c)
    acks_seen = 0

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", args.listen))
    back = None        # relay <-> server
    tid = None         # relay port that stands for the server's TID
    client = None
    server_tid = None
    t0 = time.monotonic()
    log = open(args.log, "w", buffering=1)
    pending = []       # (due, seq, sock, data, addr)
    seq = 0

    def record(direction, pkt, note=""):
        name, block = describe(pkt)
        log.write("%.3f %s %s %d%s\n" % ((time.monotonic() - t0) * 1000, direction, name,
                                         block, " " + note if note else ""))

    def impaired(pkt):
        name, block = describe(pkt)
        if name == "DATA" and block in drop_data:
            drop_data.discard(block)
            return True
        if name == "ACK" and block in drop_ack:
            drop_ack.discard(block)
            return True
        if name in ("DATA", "ACK") and args.loss and rng.random() * 100 < args.loss:
            return True
        return False

    def hold(pkt):
        name, block = describe(pkt)
        if name == "DATA" and block in swap_data:
            swap_data.discard(block)
            return True
        return False

    def spiked(sock, pkt, addr, direction):
        """Hold one ACK in spike_every; True when this one is held."""
        nonlocal acks_seen, seq
        if not spike_every or describe(pkt)[0] != "ACK":
            return False
        acks_seen += 1
        if acks_seen % spike_every:
            return False
        ms = rng.uniform(spike_min, spike_max)
        record(direction, pkt, "spike %.1f" % ms)
        seq += 1
        heapq.heappush(pending, (time.monotonic() + ms / 1000, seq, sock, pkt, addr))
        return True

    def release(sock, addr):
        while held["s2c"]:
            pkt = held["s2c"].pop(0)
            record("s2c", pkt, "late")
            sock.sendto(pkt, addr)

    def to_server(pkt):
        nonlocal seq
        dest = server_tid or server
        copies = 2 if args.dup_ack and describe(pkt)[0] == "ACK" else 1
        for i in range(copies):
            record("c2s", pkt, "dup" if i else "")
            if args.delay_ms:
                seq += 1
                heapq.heappush(pending, (time.monotonic() + args.delay_ms / 1000, seq, back, pkt, dest))
            else:
                back.sendto(pkt, dest)

    while True:
        socks = [front] + [s for s in (back, tid) if s]
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else 1.0
        ready, _, _ = select.select(socks, [], [], timeout)
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, sock, data, addr = heapq.heappop(pending)
            sock.sendto(data, addr)
        for s in ready:
            pkt, addr = s.recvfrom(70000)
            if s is front:
                if addr == client:
                    # The client repeated its request: pass it on from
                    # the same port, so the server sees a duplicate.
                    back.sendto(pkt, server)
                    record("c2s", pkt, "again")
                    continue
                # A new request starts a new session.
                client = addr
                for old in (back, tid):
                    if old:
                        old.close()
                back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                back.bind(("127.0.0.1", 0))
                tid = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                tid.bind(("127.0.0.1", 0))
                server_tid = None
                to_server(pkt)
            elif s is back:
                if server_tid is None:
                    server_tid = addr
                if impaired(pkt):
                    record("s2c", pkt, "dropped")
                    continue
                if hold(pkt):
                    held["s2c"].append(pkt)
                    continue
                if spiked(tid, pkt, client, "s2c"):
                    continue
                record("s2c", pkt)
                tid.sendto(pkt, client)
                release(tid, client)
            elif s is tid:
                if impaired(pkt):
                    record("c2s", pkt, "dropped")
                    continue
                if hold(pkt):
                    held["c2s"].append(pkt)
                    continue
                if spiked(back, pkt, server_tid or server, "c2s"):
                    continue
                to_server(pkt)
                for late in held["c2s"]:
                    to_server(late)
                held["c2s"].clear()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
