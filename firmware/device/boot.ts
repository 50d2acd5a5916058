import { systemBootInfo, systemConfirmBoot } from "../../hal/system";
import { HAL_OK } from "../../hal/errors";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";

/**
 * What the boot ROM says about the running image (hal/ABI.md §Boot info), and the healthy-boot confirmation:
 * an image on trial confirms once it has run `HEALTHY_AFTER_US` without crashing — the event loop works, the
 * UI and console are up. Network reachability is deliberately not a condition: a phone must not roll back
 * because the Internet is down.
 */
export const HEALTHY_AFTER_US: i64 = 5_000_000;
const INFO_BYTES: i32 = 64;

export class BootInfo {
  /** False when the host has no boot ROM (plain simulator nodes): version 0, no updates. */
  present: bool = false;
  version: u32 = 0;
  slot: i32 = 0;
  trial: bool = false;
  otherValid: bool = false;
  otherVersion: u32 = 0;
  minVersion: u32 = 0;
  trialBoots: i32 = 0;
  buildId: string = "";
  /** The vendor's Ed25519 public key (32 B) the ROM trusts; verifies update manifests too. */
  vendorKey: StaticArray<u8> = new StaticArray<u8>(32);
  confirmAtUs: i64 = NEVER;
  confirmed: bool = false;
}

export const boot = new BootInfo();
const raw = new StaticArray<u8>(INFO_BYTES);

@inline function le32(p: usize): u32 { return load<u32>(p); }

/** Reads the boot info record; call at init. Schedules the healthy-boot confirmation of a trial image. */
export function bootStart(now: i64): void {
  const p = changetype<usize>(raw);
  const n = systemBootInfo(p, INFO_BYTES);
  boot.present = n >= INFO_BYTES;
  if (!boot.present) return;
  boot.version = le32(p);
  boot.slot = <i32>load<u8>(p + 4);
  boot.trial = load<u8>(p + 5) != 0;
  boot.otherValid = load<u8>(p + 6) != 0;
  boot.trialBoots = <i32>load<u8>(p + 7);
  boot.otherVersion = le32(p + 8);
  boot.minVersion = le32(p + 12);
  let len = 0;
  while (len < 16 && load<u8>(p + 16 + <usize>len) != 0) len++;
  boot.buildId = String.UTF8.decodeUnsafe(p + 16, len, false);
  memory.copy(changetype<usize>(boot.vendorKey), p + 32, 32);
  boot.confirmed = !boot.trial;
  boot.confirmAtUs = boot.trial ? now + HEALTHY_AFTER_US : NEVER;
  event("boot.image", "version=" + boot.version.toString() + " slot=" + (boot.slot == 0 ? "A" : "B") +
    " trial=" + (boot.trial ? "1" : "0") + " build=" + boot.buildId);
}

export function bootDeadline(): i64 { return boot.confirmAtUs; }

export function bootTick(now: i64): void {
  if (now < boot.confirmAtUs) return;
  boot.confirmAtUs = NEVER;
  if (systemConfirmBoot() == HAL_OK) {
    boot.confirmed = true;
    boot.trial = false;
    if (boot.version > boot.minVersion) boot.minVersion = boot.version;
    event("boot.confirmed", "version=" + boot.version.toString());
  }
}

/** "v2 (slot B, build abc, trial)" or "dev build (no boot ROM)". */
export function bootText(): string {
  if (!boot.present) return "dev build (no boot ROM)";
  return "v" + boot.version.toString() + " slot " + (boot.slot == 0 ? "A" : "B") + " build " + boot.buildId +
    (boot.trial ? " (trial)" : " (confirmed)");
}
