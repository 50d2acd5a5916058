import { node } from "../overlay/node";
import { event, logError } from "../lib/log";
import { identity, identityInit } from "./identity";
import { certTrustAdd, certTrustClear, certTrustCount } from "./cert";

/**
 * Security start-up (issue #7), called from init() right after the provisioning is loaded: loads or creates
 * the identity (firmware/sec/identity.ts) and installs the provisioned certificate keys (`certKeys=`) as the
 * trusted set of firmware/sec/cert.ts. Logs `sec.identity` with the first bytes of the identity key.
 */
export function secBoot(): void {
  if (!identityInit()) logError("identity: flash or crypto engine failure; login disabled");
  else {
    let h = "";
    for (let i = 0; i < 4; i++) { const b = <i32>identity.idPub[i]; h += "0123456789abcdef".charAt(b >> 4) + "0123456789abcdef".charAt(b & 15); }
    event("sec.identity", "id=" + h + " new=" + (identity.created ? "1" : "0"));
  }
  certTrustClear();
  const cfg = node.cfg;
  for (let i = 0; i < cfg.certKeyCount; i++) certTrustAdd(cfg.certKeyIds[i], changetype<usize>(cfg.certKeys) + <usize>(i * 32));
  // How many certificate keys this node trusts (0: it checks no certificates; docs/security.md §Presence).
  event("sec.trust", "certKeys=" + certTrustCount().toString());
}
