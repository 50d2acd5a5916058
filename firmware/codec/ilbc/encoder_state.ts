// Encoder state (RFC 3951 section 3 / WebRTC IlbcEncoder): everything that
// persists between frames, allocated once at construction.

import {
  LPC_FILTERORDER,
  LPC_LOOKBACK, BLOCKL_MAX,
} from "./defs";
import { LSF_MEAN } from "./tables";
import { FrameMode } from "./frame_mode";
import { copy16, zero16 } from "./spl_vector";

export class EncoderState extends FrameMode {
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
    super();
    this.init(mode);
  }

  init(mode: i32): void {
    this.setMode(mode);
    zero16(this.anaMem, LPC_FILTERORDER);
    copy16(this.lsfold, changetype<usize>(LSF_MEAN), LPC_FILTERORDER);
    copy16(this.lsfdeqold, changetype<usize>(LSF_MEAN), LPC_FILTERORDER);
    zero16(this.lpcBuffer, LPC_LOOKBACK + BLOCKL_MAX);
    zero16(this.hpX, 2);
    zero16(this.hpY, 4);
  }
}
