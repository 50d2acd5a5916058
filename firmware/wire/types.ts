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
/** Signaling (routed like PATH_DOWN): [callId u32][natInfo] — a port prediction that missed our INVITE/RINGING (nat/punch.ts). */
export const MSG_NAT_INFO: u8 = 0x0C;
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
// Call features (issue #8: hold, transfer, conference; firmware/call/hold.ts, conference.ts), signaling
/** [callId u32][on u8] — 1: I put you on hold (media stops, keep-alives every 3 s), 0: resume. */
export const MSG_HOLD: u8 = 0x50;
/** [callId u32][target str8] — blind transfer: call `target` yourself; I hang up. */
export const MSG_TRANSFER: u8 = 0x51;
/** [callId u32][confId u32][flags u8][cpuSparePct u8][uplinkKbps u16] — participant → host: hosting capability. */
export const MSG_CONF_CAPS: u8 = 0x52;
/** [callId u32][confId u32][n u8][(user str8, score u16) × n] — host → participants: members, host first. */
export const MSG_CONF_ROSTER: u8 = 0x53;
/** [callId u32][confId u32][newHost str8][n u8][user str8 × n] — host → participants: `newHost` invites `users`. */
export const MSG_CONF_HANDOVER: u8 = 0x54;
/** [callId u32][confId u32][user str8] — participant → host: please add `user` to the conference. */
export const MSG_CONF_ADD: u8 = 0x55;
// UDP: distributed user index among supernodes (issue #5; overlay/dht.ts)
/** [txid u32][target u64][wantValue u8][name str8] */
export const MSG_DHT_FIND: u8 = 0x30;
/** [txid u32][hasRecord u8]{[record][ageS u32]}[n u8][(ip u32, port u16) × n] */
export const MSG_DHT_FOUND: u8 = 0x31;
/** [ageS u32][record] */
export const MSG_DHT_STORE: u8 = 0x32;
/** UDP SN → SN: [name str8] — DHT_STORE of `name`'s record refused, this SN holds `snMaxRecords` already (load shedding). */
export const MSG_DHT_BUSY: u8 = 0x33;
/** UDP SN → SN: [ttlS u16][n u8][record × n] — a search result to cache for ttlS seconds (the SN on the lookup path closest to the key). */
export const MSG_DHT_CACHE: u8 = 0x34;
/** TCP SC → SN: [txid u32][limit u8][prefix str8] — names starting with `prefix`, from the login server's directory. */
export const MSG_PREFIX: u8 = 0x35;
/** TCP SN → SC: [txid u32][status u8][more u8][n u8][name str8 × n] — status 0 ok; more 1: the limit cut the list. */
export const MSG_PREFIX_RESP: u8 = 0x36;
// Issue #7: sealed supernode ↔ supernode datagrams (sec/dgram.ts, docs/security.md §Backbone); 0x37–0x3F reserved for it.
/** UDP SN → SN: [sidI u32][e 32] — Noise_XX message 1. */
export const MSG_DGRAM_INIT: u8 = 0x37;
/** UDP SN → SN: [sidI u32][sidR u32][e 32, s 48, tag 16] — Noise_XX message 2. */
export const MSG_DGRAM_REPLY: u8 = 0x38;
/** UDP SN → SN: [sidR u32][s 48][first message ‖ tag 16] — Noise_XX message 3 carrying the first sealed message. */
export const MSG_DGRAM_FIRST: u8 = 0x39;
/** UDP SN → SN: [sid u32][ctr u32][ChaCha20-Poly1305([type][body]) ‖ tag 16] — one sealed SN ↔ SN message. */
export const MSG_DGRAM_DATA: u8 = 0x3A;
/** UDP SN → SN: [sid u32] — no session `sid` here: start a new handshake. */
export const MSG_DGRAM_RESET: u8 = 0x3B;

// Multiple logins and instant messages (issue #8; firmware/im/, docs/protocol.md §Multiple logins and IM)
/** signaling: [callId u32] — the call was answered on another device of this user: stop ringing. */
export const MSG_CALL_CANCEL: u8 = 0x60;
/** IM fragment, phone → phone (direct UDP, or inside IM_SEND/IM_FWD through the supernodes). */
export const MSG_IM: u8 = 0x61;
/** IM delivery receipt, phone → phone: [to addr str8][from addr str8][seq u32]. */
export const MSG_IM_ACK: u8 = 0x62;
/** TCP SC → its SN: [toAddr str8][toSnIp u32][toSnPort u16][inner IM or IM_ACK]. */
export const MSG_IM_SEND: u8 = 0x63;
/** TCP SN → SN: [toAddr str8][inner]; SN → SC: the inner message alone as IM_FWD. */
export const MSG_IM_FWD: u8 = 0x64;
/** TCP SC → SN: [toUser str8][inner IM] — hold for an offline user at its index supernodes. */
export const MSG_IM_HOLD: u8 = 0x65;
/** TCP SC → SN: [user str8] — fetch the IMs held for me (after login). */
export const MSG_IM_FETCH: u8 = 0x66;
/** UDP SN → SN: [ageS u32][toUser str8][len u16][inner IM] — keep for up to 72 h. */
export const MSG_DHT_IM_STORE: u8 = 0x67;
/** UDP SN → SN: [txid u32][user str8] — send me what you hold for user. */
export const MSG_DHT_IM_GET: u8 = 0x68;
/** UDP SN → SN: [txid u32][len u16][inner IM] — one held IM (one datagram each). */
export const MSG_DHT_IM_HELD: u8 = 0x69;
/** Receipt of a held (sealed) IM, phone → phone like IM_ACK: [ackerAddr str8][toAddr str8][len u16][Noise_K message] (firmware/im/seal.ts). */
export const MSG_IM_ACK_SEALED: u8 = 0x6A;
/** Longest routing address `user/devid` (user ≤ 32, '/', 8 hex digits). */
export const ADDR_MAX: i32 = 48;
// Buddy list and presence (issue #8; firmware/buddy/buddies.ts, docs/protocol.md §Buddy list and presence)
/** SC → SN: [sealed buddy request] — forwarded to the login server like LOGIN. */
export const MSG_BUDDY_OP: u8 = 0x70;
/** SN → SC: [sealed response] to MSG_BUDDY_OP. */
export const MSG_BUDDY_RESP: u8 = 0x71;
/** Inside ROUTE, phone → buddy (or SN → buddy for a client that left): [status u8] (PRESENCE_*). */
export const MSG_BUDDY_PRESENCE: u8 = 0x72;
/** Inside ROUTE, phone → phone: [what u8] (1 request, 2 accepted, 3 declined, 4 removed): re-sync with the server. */
export const MSG_BUDDY_NOTIFY: u8 = 0x73;
/** SC → SN: [n u8][name str8 × n] — buddies to tell (PRESENCE offline) when this client's connection ends. */
export const MSG_BUDDY_WATCH: u8 = 0x74;

// Issue #7, sessions and media (sec/relay-alias.ts); 0x48–0x4F reserved for it.
/** TCP SC → its SN over the Noise channel: [alias str8][addr str8] — RELAY `to` alias for addr. */
export const MSG_RELAY_ALIAS: u8 = 0x48;

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
/** RFC 5780 §7.5 RESPONSE-PORT: [port u16] follows the flags; the answer goes to the sender's IP at that port. */
export const NAT_TEST_RESPONSE_PORT: u8 = 4;

/** BYE reasons. */
export const BYE_NORMAL: u8 = 0;
export const BYE_BUSY: u8 = 1;
export const BYE_DECLINED: u8 = 2;
export const BYE_UNREACHABLE: u8 = 3;
export const BYE_NO_CODEC: u8 = 4;

/** Candidate kinds (transport addresses offered for hole punching). */
export const CAND_HOST: u8 = 1;
export const CAND_REFLEXIVE: u8 = 2;
