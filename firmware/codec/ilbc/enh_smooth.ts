// Enhancer smoothing (RFC 3951 4.6.3-4.6.4): build the pitch-synchronous
// "surround" sequence for a block and mix it with the block under an
// energy constraint.

import { ENH_WT, ENH_PLOCS } from "./tables";
import {
  ENH_BLOCKL, ENH_BLOCKL_HALF, ENH_HL, ENH_OVERHANG, ENH_PLOCSL, ENH_A0, ENH_A0_MINUS_A0A0DIV4, ENH_A0DIV2,
} from "./defs";
import { rd, wr, rd32, wr32, s16, sizeInBits, shiftW32, iabs, divW32W16, sqrtFloor, imax } from "./spl_math";
import { maxAbsW16, dotProductWithScale, zero16, scaleAndAddVectors } from "./spl_vector";
import { refiner, nearestNeighbor } from "./enh_refine";

const LAG_BLOCK = new StaticArray<i32>(2 * ENH_HL + 1);
const BLOCK_START = new StaticArray<i32>(2 * ENH_HL + 1);
const PLOCS2 = new StaticArray<i32>(ENH_PLOCSL);
const SURROUND = new StaticArray<i16>(ENH_BLOCKL);

/** Sum the 2*hl pitch-synchronous neighbour segments of the block into surround. */
function getSyncSeq(
  idata: usize, idatal: i32, centerStartPos: i32, period: usize, plocs: usize, periodl: i32, hl: i32, surround: usize
): void {
  const lagBlock = changetype<usize>(LAG_BLOCK);
  const blockStart = changetype<usize>(BLOCK_START);
  const plocs2 = changetype<usize>(PLOCS2);
  const centerEndPos = centerStartPos + ENH_BLOCKL - 1;

  wr32(lagBlock, hl, nearestNeighbor(plocs, 2 * (centerStartPos + centerEndPos), periodl));
  wr32(blockStart, hl, 4 * centerStartPos);

  // past segments
  for (let q = hl; q > 0; q--) {
    const qq = q - 1;
    const periodQ = rd32(period, rd32(lagBlock, q));
    if (rd32(blockStart, q) < periodQ + 4 * ENH_OVERHANG) break;
    wr32(blockStart, qq, rd32(blockStart, q) - periodQ);
    let value = rd32(blockStart, qq) + 4 * ENH_BLOCKL_HALF;
    value = value > periodQ ? value - periodQ : 0;
    wr32(lagBlock, qq, nearestNeighbor(plocs, value, periodl));
    wr32(blockStart, qq, refiner(idata, idatal, centerStartPos, rd32(blockStart, qq), surround, <i32>unchecked(ENH_WT[qq])));
  }

  // future segments
  for (let i = 0; i < periodl; i++) wr32(plocs2, i, rd32(plocs, i) - rd32(period, i));
  for (let q = hl + 1; q <= 2 * hl; q++) {
    wr32(lagBlock, q, nearestNeighbor(plocs2, rd32(blockStart, q - 1) + 4 * ENH_BLOCKL_HALF, periodl));
    wr32(blockStart, q, rd32(blockStart, q - 1) + rd32(period, rd32(lagBlock, q)));
    if (rd32(blockStart, q) + 4 * (ENH_BLOCKL + ENH_OVERHANG) < 4 * idatal) {
      wr32(blockStart, q, refiner(idata, idatal, centerStartPos, rd32(blockStart, q), surround, <i32>unchecked(ENH_WT[2 * hl - q])));
    }
  }
}

/** odata = C * surround (C in Q11); returns the squared error vs. current. */
function smoothOdata(odata: usize, current: usize, surround: usize, C: i32): i32 {
  for (let i = 0; i < ENH_BLOCKL; i++) wr(odata, i, (C * rd(surround, i) + 1024) >> 11);
  let errs: i32 = 0;
  for (let i = 0; i < ENH_BLOCKL; i++) {
    const err = s16((rd(current, i) - rd(odata, i)) >> 3);
    errs += err * err;
  }
  return errs;
}

/** Mix the block with its surround so that the result stays close in energy. */
function smooth(odata: usize, current: usize, surround: usize): void {
  const max1 = <u32>(maxAbsW16(current, ENH_BLOCKL) + 1);
  const max2 = <u32>(maxAbsW16(surround, ENH_BLOCKL) + 1);
  const max12: u64 = <u64>(max1 > max2 ? max1 : max2);
  let scale = 33 - <i32>clz<u64>(<u64>(<u32>(max12 * max12)) * <u64>ENH_BLOCKL);
  scale = imax(0, scale);

  let w00 = dotProductWithScale(current, current, ENH_BLOCKL, scale);
  let w11 = dotProductWithScale(surround, surround, ENH_BLOCKL, scale);
  const w10 = dotProductWithScale(surround, current, ENH_BLOCKL, scale);
  if (w00 < 0) w00 = 0x7fffffff;
  if (w11 < 0) w11 = 0x7fffffff;

  const bitsw00 = sizeInBits(<u32>w00);
  const bitsw11 = sizeInBits(<u32>w11);
  const bitsw10 = sizeInBits(<u32>iabs(w10));
  let scale1 = 31 - bitsw00;
  let scale2 = 15 - bitsw11;
  if (scale2 > scale1 - 16) scale2 = scale1 - 16;
  else scale1 = scale2 + 16;

  let w00prim = w00 << scale1;
  const w11prim = s16(shiftW32(w11, scale2));

  let C: i32;
  if (w11prim > 64) {
    const endiff = divW32W16(w00prim, w11prim) << 6;
    C = s16(sqrtFloor(endiff));
  } else {
    C = 1;
  }

  const errs = smoothOdata(odata, current, surround, C);

  let crit: i32;
  if (6 - scale + scale1 > 31) crit = 0;
  else crit = shiftW32(ENH_A0 * (w00prim >> 14), -(6 - scale + scale1));

  if (errs > crit) {
    if (w00 < 1) w00 = 1;
    scale1 = bitsw00 - 15;
    scale2 = bitsw11 - 15;
    scale = scale2 > scale1 ? scale2 : scale1;
    const w11w00 = s16(shiftW32(w11, -scale)) * s16(shiftW32(w00, -scale));
    const w10w10 = s16(shiftW32(w10, -scale)) * s16(shiftW32(w10, -scale));
    const w00w00 = s16(shiftW32(w00, -scale)) * s16(shiftW32(w00, -scale));

    let denom: i32;
    if (w00w00 > 65536) {
      let endiff = w11w00 - w10w10;
      endiff = imax(0, endiff);
      denom = divW32W16(endiff, s16(w00w00 >> 16));
    } else {
      denom = 65536;
    }

    let A: i32, B: i32;
    if (denom > 7) {
      scale = sizeInBits(<u32>denom) - 15;
      let denomW16: i32, num: i32;
      if (scale > 0) {
        denomW16 = s16(denom >> scale);
        num = ENH_A0_MINUS_A0A0DIV4 >> scale;
      } else {
        denomW16 = s16(denom);
        num = ENH_A0_MINUS_A0A0DIV4;
      }
      A = s16(sqrtFloor(divW32W16(num, denomW16)));

      scale1 = 31 - bitsw10;
      scale2 = 21 - scale1;
      let w10prim = w10 == 0 ? 0 : w10 << scale1;
      w00prim = shiftW32(w00, -scale2);
      scale = bitsw00 - scale2 - 15;
      if (scale > 0) {
        w10prim >>= scale;
        w00prim >>= scale;
      }
      if (w00prim > 0 && w10prim > 0) {
        const w11DivW00 = divW32W16(w10prim, s16(w00prim));
        let bw32: i32;
        if (sizeInBits(<u32>w11DivW00) + sizeInBits(<u32>A) > 31) bw32 = 0;
        else bw32 = 1073741824 - ENH_A0DIV2 - A * w11DivW00;
        B = s16(bw32 >> 16);
      } else {
        A = 0;
        B = 16384;
      }
    } else {
      A = 0;
      B = 16384;
    }
    scaleAndAddVectors(surround, A, 9, current, B, 14, odata, ENH_BLOCKL);
  }
}

/** Enhance the 80-sample block at idata + centerStartPos into odata. */
export function enhanceBlock(odata: usize, idata: usize, idatal: i32, centerStartPos: i32, period: usize, periodl: i32): void {
  const surround = changetype<usize>(SURROUND);
  zero16(surround, ENH_BLOCKL);
  getSyncSeq(idata, idatal, centerStartPos, period, changetype<usize>(ENH_PLOCS), periodl, ENH_HL, surround);
  smooth(odata, idata + <usize>(centerStartPos << 1), surround);
}
