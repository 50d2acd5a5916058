/**
 * Network device (hal/ABI.md §net): IPv4 UDP and TCP sockets, lwIP-like, event-driven.
 * Addresses are IPv4 in host order as u32 (1.2.3.4 = 0x01020304); ports 1..65535.
 * Incoming data arrives through the exports onUdp/onTcp* with bytes in the rx buffer.
 */
/** Opens a UDP socket bound to `port` (0 = any). Returns a socket handle >= 0, or HAL_EADDRINUSE/HAL_ERR. */
@external("net", "udpOpen")
export declare function netUdpOpen(port: i32): i32;
/** Sends one datagram of `len` bytes (≤ 1472 recommended, ≤ 65507). Returns len or a HAL error. */
@external("net", "udpSend")
export declare function netUdpSend(sock: i32, ip: u32, port: i32, ptr: usize, len: i32): i32;
/** Local port of a UDP socket, or HAL_ENOENT. */
@external("net", "udpLocalPort")
export declare function netUdpLocalPort(sock: i32): i32;
@external("net", "udpClose")
export declare function netUdpClose(sock: i32): i32;
/** Listens for TCP on `port`. Returns a listener handle, or HAL_EADDRINUSE. */
@external("net", "tcpListen")
export declare function netTcpListen(port: i32): i32;
/** Starts a TCP connection. Returns a connection handle at once; the outcome arrives as onTcpConnected. */
@external("net", "tcpConnect")
export declare function netTcpConnect(ip: u32, port: i32): i32;
/** Queues `len` bytes on an open connection. Returns len, or HAL_ENOTCONN. */
@external("net", "tcpSend")
export declare function netTcpSend(conn: i32, ptr: usize, len: i32): i32;
/** Closes a connection or listener handle (no further events for it). */
@external("net", "tcpClose")
export declare function netTcpClose(conn: i32): i32;
/** The host's own IPv4 address (may be private, behind a NAT). */
@external("net", "localIp")
export declare function netLocalIp(): u32;
