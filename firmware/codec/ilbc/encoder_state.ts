// Encoder state (RFC 3951 section 3 / WebRTC IlbcEncoder): everything that
// persists between frames, allocated once at construction.

import {
  BLOCKL_20MS, BLOCKL_30MS, NSUB_20MS, NSUB_30MS, NASUB_20MS, NASUB_30MS, LPC_N_20MS, LPC_N_30MS,
  NO_OF_BYTES_20MS, NO_OF_BYTES_30MS, STATE_SHORT_LEN_20MS, STATE_SHORT_LEN_30MS, LPC_FILTERORDER,
  LPC_LOOKBACK, BLOCKL_MAX,
} from "./defs";
import { LSF_MEAN } from "./tables";
import { copy16, zero16 } from "./spl_vector";

export class EncoderState {
  mode: i32 = 20;
  blockl: i32 = BLOCKL_20MS;
  nsub: i32 = NSUB_20MS;
  nasub: i32 = NASUB_20MS;
  lpcN: i32 = LPC_N_20MS;
  noOfBytes: i32 = NO_OF_BYTES_20MS;
  stateShortLen: i32 = STATE_SHORT_LEN_20MS;

  private aAnaMem: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER);
  private aLsfold: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER);
  private aLsfdeqold: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER);
  private aLpcBuffer: StaticArray<i16> = new StaticArray<i16>(LPC_LOOKBACK + BLOCKL_MAX);
  private aHpX: StaticArray<i16> = new StaticArray<i16>(2);
  private aHpY: StaticArray<i16> = new StaticArray<i16>(4);

  /** analysis (inverse) filter state */
  anaMem: usize = changetype<usize>(this.aAnaMem);
  /** previous unquantised / quantised LSFs for interpolation */
  lsfold: usize = changetype<usize>(this.aLsfold);
  lsfdeqold: usize = changetype<usize>(this.aLsfdeqold);
  /** LPC analysis history; its tail doubles as the residual buffer */
  lpcBuffer: usize = changetype<usize>(this.aLpcBuffer);
  hpX: usize = changetype<usize>(this.aHpX);
  hpY: usize = changetype<usize>(this.aHpY);

  constructor(mode: i32) {
    this.init(mode);
  }

  init(mode: i32): void {
    const is30 = mode == 30;
    this.mode = is30 ? 30 : 20;
    this.blockl = is30 ? BLOCKL_30MS : BLOCKL_20MS;
    this.nsub = is30 ? NSUB_30MS : NSUB_20MS;
    this.nasub = is30 ? NASUB_30MS : NASUB_20MS;
    this.lpcN = is30 ? LPC_N_30MS : LPC_N_20MS;
    this.noOfBytes = is30 ? NO_OF_BYTES_30MS : NO_OF_BYTES_20MS;
    this.stateShortLen = is30 ? STATE_SHORT_LEN_30MS : STATE_SHORT_LEN_20MS;
    zero16(this.anaMem, LPC_FILTERORDER);
    copy16(this.lsfold, changetype<usize>(LSF_MEAN), LPC_FILTERORDER);
    copy16(this.lsfdeqold, changetype<usize>(LSF_MEAN), LPC_FILTERORDER);
    zero16(this.lpcBuffer, LPC_LOOKBACK + BLOCKL_MAX);
    zero16(this.hpX, 2);
    zero16(this.hpY, 4);
  }
}
