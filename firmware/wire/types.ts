/**
 * Message type codes of the overlay protocol (docs/protocol.md). One datagram or one TCP frame carries one
 * message: `[type u8][body]`. Types < 0x80 are overlay messages; a first byte 0x80..0xBF is an RTP packet
 * (version 2, RFC 3550 §5.1), so media and signaling share one UDP port as Skype's did.
 * TCP frames: `[len u16][message]`; a frame with len 0 is the 2-byte keep-alive.
 */
// UDP
export const MSG_PROBE: u8 = 0x01;
export const MSG_PROBE_ACK: u8 = 0x02;
export const MSG_KEEPALIVE: u8 = 0x03;
export const MSG_PUNCH: u8 = 0x04;
export const MSG_PUNCH_ACK: u8 = 0x05;
// UDP or TCP
export const MSG_RELAY: u8 = 0x06;
export const MSG_RELAYED: u8 = 0x07;
// UDP: NAT behaviour discovery (RFC 5780 style, supernodes as reflectors; nat/discovery.ts)
export const MSG_NAT_TEST: u8 = 0x08;
export const MSG_NAT_TEST_ACK: u8 = 0x09;
export const MSG_NAT_TEST_FWD: u8 = 0x0A;
/** SN → SC answer to KEEPALIVE: the endpoint the SN sees (detects NAT rebinding / address change). */
export const MSG_KEEPALIVE_ACK: u8 = 0x0B;
// TCP: client ↔ supernode
export const MSG_HELLO: u8 = 0x10;
export const MSG_HELLO_ACK: u8 = 0x11;
export const MSG_LOGIN: u8 = 0x12;
export const MSG_LOGIN_RESP: u8 = 0x13;
export const MSG_PUBLISH: u8 = 0x14;
export const MSG_SEARCH: u8 = 0x15;
export const MSG_SEARCH_RESP: u8 = 0x16;
export const MSG_ROUTE: u8 = 0x17;
// TCP: supernode ↔ supernode
export const MSG_SN_HELLO: u8 = 0x19;
export const MSG_INDEX_PUT: u8 = 0x1A;
export const MSG_INDEX_DEL: u8 = 0x1B;
/** SN → SC: no room for another client here (HELLO refused); try another supernode. */
export const MSG_BUSY: u8 = 0x1C;
/** SN → SC: relay quota reached, [callId u32] not relayed; use another supernode as relay. */
export const MSG_RELAY_REFUSED: u8 = 0x1D;
// Call signaling (direct TCP between phones, or inside MSG_ROUTE)
export const MSG_INVITE: u8 = 0x20;
export const MSG_RINGING: u8 = 0x21;
export const MSG_ANSWER: u8 = 0x22;
export const MSG_BYE: u8 = 0x23;
/** First frame on a TCP connection the callee opens back to a public caller, to carry media (direct-tcp). */
export const MSG_CALL_ATTACH: u8 = 0x24;
/** "Your direct packets stopped reaching me": both sides fall back to the relay at once. */
export const MSG_PATH_DOWN: u8 = 0x25;
// UDP: distributed user index among supernodes (issue #5; overlay/dht.ts)
/** [txid u32][target u64][wantValue u8][name str8] */
export const MSG_DHT_FIND: u8 = 0x30;
/** [txid u32][hasRecord u8]{[record][ageS u32]}[n u8][(ip u32, port u16) × n] */
export const MSG_DHT_FOUND: u8 = 0x31;
/** [ageS u32][record] */
export const MSG_DHT_STORE: u8 = 0x32;

/** Largest TCP frame body accepted (bytes); a longer length field closes the connection. */
export const FRAME_MAX: i32 = 4096;
/** Longest user name on the wire (server rule: 3..32). */
export const USER_MAX: i32 = 32;

/** Presence record flags. */
export const FLAG_UDP_OK: u8 = 1;
/** Directly reachable from the public Internet (no NAT, no firewall): accepts inbound TCP. */
export const FLAG_PUBLIC: u8 = 2;

export const PRESENCE_OFFLINE: u8 = 0;
export const PRESENCE_ONLINE: u8 = 1;
export const PRESENCE_AWAY: u8 = 2;

/** NAT_TEST flags (RFC 5780 §7.2 CHANGE-REQUEST, with "another supernode" standing in for the alternate IP). */
export const NAT_TEST_CHANGE_PORT: u8 = 1;
export const NAT_TEST_CHANGE_IP: u8 = 2;

/** BYE reasons. */
export const BYE_NORMAL: u8 = 0;
export const BYE_BUSY: u8 = 1;
export const BYE_DECLINED: u8 = 2;
export const BYE_UNREACHABLE: u8 = 3;
export const BYE_NO_CODEC: u8 = 4;

/** Candidate kinds (transport addresses offered for hole punching). */
export const CAND_HOST: u8 = 1;
export const CAND_REFLEXIVE: u8 = 2;
