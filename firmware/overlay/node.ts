import { Config } from "../lib/config";
import { Prng } from "../lib/prng";

/** Node-wide state shared by the overlay, NAT, call and media modules (one instance: `node`). */
export class NodeState {
  cfg: Config = new Config();
  /** PRNG streams, split from the init seed per subsystem so they don't perturb each other. */
  prngOverlay: Prng = new Prng(0, 1);
  prngCall: Prng = new Prng(0, 2);
  prngMedia: Prng = new Prng(0, 3);
  /** Buddy list and presence (firmware/buddy/): its own stream, so the other subsystems' draws are unchanged. */
  prngBuddy: Prng = new Prng(0, 8);
  /** The one UDP socket (signaling, probes, punching and media share it). */
  udpSock: i32 = -1;
  /** Supernode only: second UDP socket on port + 1, the "alternate port" of NAT discovery (RFC 5780 §4). */
  altUdpSock: i32 = -1;
  /** TCP listener on the same port number. */
  tcpListener: i32 = -1;
  localIp: u32 = 0;
  port: i32 = 0;
  /** This node acts as a supernode (public address and `supernode=auto`). */
  isSupernode: bool = false;
  bootUs: i64 = 0;

  /** Whether ip:port is this node itself (a supernode finds its own address in the bootstrap list). */
  isSelf(ip: u32, port: i32): bool { return ip == this.localIp && port == this.port; }

  seed(seed: u64): void {
    this.prngOverlay.seed(seed, 1);
    this.prngCall.seed(seed, 2);
    this.prngMedia.seed(seed, 3);
    this.prngBuddy.seed(seed, 8);
  }
}

export const node = new NodeState();
