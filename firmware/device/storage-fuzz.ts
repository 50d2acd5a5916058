import { node } from "../overlay/node";
import { Config } from "../lib/config";
import { event } from "../lib/log";
import { KEY_PROVISIONING, KEY_HOST_CACHE, KEY_ACCOUNT, KEY_IDENTITY, KEY_BUDDIES, KEY_BUDDY_OUTBOX } from "../lib/keys";
import { KEY_UPDATE_STATE, KEY_CALL_HISTORY, KEY_UI_SETTINGS } from "./storage-keys";
import { devcfg, provisioningJson, provisioningLoad } from "./provisioning";
import { reportedVersion } from "./update";
import { hostCache } from "../overlay/host-cache";
import { loadRegistered } from "../overlay/client";
import { identity, identityInit } from "../sec/identity";
import { history, historyLoad } from "../ui/history";
import { settings, settingsLoad, VOLUME_DEFAULT } from "../ui/settings";
import { imStateLoad, imStateNextSeq, imStateSave, imStateWindow } from "../im/state";
import { buddy, loadList, loadOutbox } from "../buddy/buddies";
import { storageRead } from "../../hal/storage";

/** Key 14 (IM sequence state, firmware/im/keys.ts). */
const KEY_IM_STATE: i32 = 14;
/** Result for a key that has no decoder this export can re-run. */
export const RELOAD_NO_DECODER: i32 = -2;

const cfgBuf = new StaticArray<u8>(4096);

/**
 * Fuzzing only (tests/fuzz, target `fw.storage.records`): re-runs the boot-time decoder of flash key `key`
 * on the record now in storage, on a firmware that is already running, so a fuzzer can feed many records to
 * one instance instead of booting one per record. The decoders are the ones init() and the modules' start
 * functions call (no copy): provisioning text/JSON (1; parsed into a scratch Config, printed back as JSON,
 * then the running configuration is restored), host cache (2), account (3), identity seed (4), update state
 * (8), call history (9), UI settings (10), IM sequence state (14; then a window for a new sender is added and
 * saved, as an IM arrival does), buddy list (15) and outbox (16).
 * Returns the decoder's result: entries loaded, a flag or a version, −1 for a record it refused, −5
 * (ENOENT) for an absent provisioning record, RELOAD_NO_DECODER (−2) for a key nobody decodes (5, the NAT
 * record, is written only; 13, the IM device seed, is read once and cached). Never traps on any record.
 */
export function storageReload(key: i32): i32 {
  let r: i32 = RELOAD_NO_DECODER;
  if (key == KEY_PROVISIONING) r = reloadProvisioning();
  else if (key == KEY_HOST_CACHE) {
    const c0 = hostCache.corrupt;
    const n = hostCache.load();
    r = hostCache.corrupt != c0 ? -1 : n;
  } else if (key == KEY_ACCOUNT) r = loadRegistered() ? 1 : 0;
  else if (key == KEY_IDENTITY) {
    identity.ready = false; identity.created = false;
    r = identityInit() ? (identity.created ? 1 : 0) : -1;
  } else if (key == KEY_UPDATE_STATE) r = <i32>reportedVersion();
  else if (key == KEY_CALL_HISTORY) { historyLoad(); r = history.length; }
  else if (key == KEY_UI_SETTINGS) {
    settings.ringVolume = VOLUME_DEFAULT; settings.handsetVolume = VOLUME_DEFAULT; settings.speakerVolume = VOLUME_DEFAULT;
    settingsLoad();
    r = settings.ringVolume * 100 + settings.handsetVolume * 10 + settings.speakerVolume;
  } else if (key == KEY_IM_STATE) {
    // Then, as when an IM from a device not in the record arrives (im/im.ts): a new window, saved.
    imStateLoad();
    imStateSave(imStateWindow("storage-fuzz/1"));
    r = <i32>(imStateNextSeq(0) & 0x7FFFFFFF);
  }
  else if (key == KEY_BUDDIES) { loadList(); r = buddy.entries.length; }
  else if (key == KEY_BUDDY_OUTBOX) { loadOutbox(); r = buddy.outOps.length; }
  event("storage.reload", "key=" + key.toString() + " result=" + r.toString());
  return r;
}

function reloadProvisioning(): i32 {
  const n = storageRead(KEY_PROVISIONING, changetype<usize>(cfgBuf), 4096);
  if (n <= 0) return n == 0 ? 0 : -5;
  const running = node.cfg;
  const rows = devcfg.displayRows, cols = devcfg.displayCols, uip = devcfg.updateIp, uport = devcfg.updatePort;
  const uint = devcfg.updateIntervalS, json = devcfg.isJson;
  node.cfg = new Config();
  provisioningLoad(String.UTF8.decodeUnsafe(changetype<usize>(cfgBuf), min(n, 4096), false));
  const r: i32 = node.cfg.errors > 0 ? -1 : 1;
  const shown = provisioningJson(true);
  node.cfg = running;
  devcfg.displayRows = rows; devcfg.displayCols = cols; devcfg.updateIp = uip; devcfg.updatePort = uport;
  devcfg.updateIntervalS = uint; devcfg.isJson = json;
  return shown.length > 0 ? r : -3;
}
