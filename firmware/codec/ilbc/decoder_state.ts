// Decoder state (RFC 3951 section 4 / WebRTC IlbcDecoder): everything that
// persists between frames, allocated once at construction.

import {
  LPC_FILTERORDER,
  NSUB_MAX, BLOCKL_MAX, ENH_BUFL, ENH_BUFL_FILTEROVERHEAD, ENH_NBLOCKS_TOT,
} from "./defs";
import { LSF_MEAN } from "./tables";
import { FrameMode } from "./frame_mode";
import { wr, wr32 } from "./spl_math";
import { copy16, zero16 } from "./spl_vector";

export class DecoderState extends FrameMode {
  lastLag: i32 = 20;
  consPLICount: i32 = 0;
  prevEnhPl: i32 = 0;
  perSquare: i32 = 0;
  prevScale: i32 = 0;
  prevPLI: i32 = 0;
  prevLag: i32 = 120;
  seed: i32 = 777;
  useEnhancer: bool = true;

  // Backing storage (kept referenced so the GC never frees it).
  private aSyntMem: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER);
  private aLsfdeqold: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER);
  private aPrevLpc: StaticArray<i16> = new StaticArray<i16>(LPC_FILTERORDER + 1);
  private aPrevResidual: StaticArray<i16> = new StaticArray<i16>(NSUB_MAX * 40);
  private aOldSyntdenum: StaticArray<i16> = new StaticArray<i16>((LPC_FILTERORDER + 1) * NSUB_MAX);
  private aHpX: StaticArray<i16> = new StaticArray<i16>(2);
  private aHpY: StaticArray<i16> = new StaticArray<i16>(4);
  private aEnhBuf: StaticArray<i16> = new StaticArray<i16>(ENH_BUFL + ENH_BUFL_FILTEROVERHEAD);
  private aEnhPeriod: StaticArray<i32> = new StaticArray<i32>(ENH_NBLOCKS_TOT);

  syntMem: usize = changetype<usize>(this.aSyntMem);
  lsfdeqold: usize = changetype<usize>(this.aLsfdeqold);
  prevLpc: usize = changetype<usize>(this.aPrevLpc);
  prevResidual: usize = changetype<usize>(this.aPrevResidual);
  oldSyntdenum: usize = changetype<usize>(this.aOldSyntdenum);
  hpX: usize = changetype<usize>(this.aHpX);
  hpY: usize = changetype<usize>(this.aHpY);
  enhBuf: usize = changetype<usize>(this.aEnhBuf);
  enhPeriod: usize = changetype<usize>(this.aEnhPeriod);

  constructor(mode: i32, useEnhancer: bool) {
    super();
    this.init(mode, useEnhancer);
  }

  /** Reset to the initial state for frame mode 20 or 30 ms. */
  init(mode: i32, useEnhancer: bool): void {
    this.setMode(mode);

    copy16(this.lsfdeqold, changetype<usize>(LSF_MEAN), LPC_FILTERORDER);
    zero16(this.syntMem, LPC_FILTERORDER);
    zero16(this.oldSyntdenum, (LPC_FILTERORDER + 1) * NSUB_MAX);
    for (let i = 0; i < NSUB_MAX; i++) wr(this.oldSyntdenum, i * (LPC_FILTERORDER + 1), 4096);

    this.lastLag = 20;
    this.consPLICount = 0;
    this.prevPLI = 0;
    this.perSquare = 0;
    this.prevLag = 120;
    this.prevScale = 0;
    wr(this.prevLpc, 0, 4096);
    zero16(this.prevLpc + 2, LPC_FILTERORDER);
    zero16(this.prevResidual, BLOCKL_MAX);
    this.seed = 777;
    zero16(this.hpX, 2);
    zero16(this.hpY, 4);
    this.useEnhancer = useEnhancer;
    zero16(this.enhBuf, ENH_BUFL + ENH_BUFL_FILTEROVERHEAD);
    for (let i = 0; i < ENH_NBLOCKS_TOT; i++) wr32(this.enhPeriod, i, 160);
    this.prevEnhPl = 0;
  }
}
