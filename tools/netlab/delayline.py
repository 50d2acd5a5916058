#!/usr/bin/env python3
"""Delay line between pairs of TUN devices: the NAT lab's stand-in for `tc netem delay` on kernels built
without sch_netem (tools/netlab/lab.ts uses netem when the kernel has it).

    delayline.py DELAY_MS A1:B1 [A2:B2 ...]

Attaches to existing persistent TUN devices (created with `ip tuntap add dev NAME mode tun` in the namespace
this process runs in), prints "ready" once every device is open, then copies every IPv4 packet read from Ai to
Bi and from Bi to Ai DELAY_MS milliseconds later, in order. The caller may move a device to another network
namespace after "ready": the open file descriptor follows the device. Stops on SIGTERM/SIGINT. Python standard library only (TUNSETIFF through fcntl.ioctl); nothing here is addressed by IP.
"""
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU_MAX = 65536


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: delayline.py DELAY_MS A:B [A:B ...]\n")
        return 2
    delay = float(sys.argv[1]) / 1000.0
    peer = {}
    for pair in sys.argv[2:]:
        a, b = pair.split(":")
        fa, fb = open_tun(a), open_tun(b)
        peer[fa] = fb
        peer[fb] = fa
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)
    queue = []  # (due, seq, fd_out, packet)
    seq = 0
    watch = list(peer.keys())
    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, pkt = heapq.heappop(queue)
            try:
                os.write(fd, pkt)
            except OSError:
                pass  # device down or moved away mid-flight: the packet is lost, as on a cut cable
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            ready, _, _ = select.select(watch, [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            for _ in range(64):
                try:
                    pkt = os.read(fd, MTU_MAX)
                except (BlockingIOError, OSError):
                    break
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, peer[fd], pkt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
