import { NEVER } from "../lib/clock";
import { certNowS, myCert } from "./cert";

/**
 * When the phone renews its own certificate (issue #7): certificates live 24 h (server/service.ts
 * `certLifetimeS`), a phone stays logged in for weeks. At RENEW_AT_PERCENT of the life the certificate had when
 * it arrived, the client (overlay/client.ts) re-runs the Noise_IK LOGIN exchange with the login server over its
 * supernode connection, still online; a verified new certificate replaces `myCert` and the phone re-publishes
 * its presence with it. A failed or unanswered attempt is retried every RENEW_RETRY_US until the old one expires
 * (and after: an expired certificate is worth replacing just as much).
 */
export const RENEW_AT_PERCENT: i64 = 80;
/** Wait after a failed renewal before the next attempt (µs). */
export const RENEW_RETRY_US: i64 = 60_000_000;

let retryAtUs: i64 = 0;

/** Local time (µs) at which to renew `myCert`; NEVER without a certificate. */
export function certRenewAtUs(): i64 {
  if (myCert.len == 0) return NEVER;
  const leftS = <i64>myCert.notAfterS - certNowS(myCert.gotUs);
  const at = leftS <= 0 ? myCert.gotUs : myCert.gotUs + leftS * 1_000_000 * RENEW_AT_PERCENT / 100;
  return max(at, retryAtUs);
}

/**
 * A renewal attempt started or failed at `now`: the next one waits at least RENEW_RETRY_US (so a server whose
 * certificates arrive already expired, e.g. a wrong clock, gets one request a minute, not one per tick).
 */
export function certRenewFailed(now: i64): void { retryAtUs = now + RENEW_RETRY_US; }
