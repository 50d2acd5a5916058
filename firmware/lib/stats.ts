/**
 * Counters the console's `stats` command and the reports show. Malformed input is dropped and counted here,
 * never trapped on (architecture.md §Bad input).
 */
export class Stats {
  udpRx: u32 = 0;
  udpTx: u32 = 0;
  tcpRxFrames: u32 = 0;
  tcpTxFrames: u32 = 0;
  /** Datagrams or frames that failed to parse (short, bad lengths, bad fields). */
  malformed: u32 = 0;
  /** Well-formed messages of a type that makes no sense where they arrived. */
  unexpected: u32 = 0;
  /** Messages too large for the transmit buffer (a bug if ever non-zero). */
  txOverflow: u32 = 0;
  /** TCP connections closed because their stream was corrupt (impossible frame length). */
  brokenStreams: u32 = 0;
  /** Relayed media packets forwarded as a supernode. */
  relayed: u32 = 0;
  /** Relay packets dropped (unknown destination, quota). */
  relayDropped: u32 = 0;
}

export const stats = new Stats();
