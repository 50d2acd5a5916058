// One-frame iLBC decoder (RFC 3951 section 4 / WebRTC DecodeImpl): parameter
// unpacking, LSF decoding, residual decoding, PLC bookkeeping, enhancement,
// LPC synthesis and the output high-pass filter.

import { DecoderState } from "./decoder_state";
import {
  BLOCKL_MAX, LPC_FILTERORDER, NSUB_MAX, LPC_N_MAX, SUBL, P_SIZE, P_START, P_EMPTY, P_CB, P_LSF,
} from "./defs";
import { HP_OUT_COEFS } from "./tables";
import { rd, wr, at } from "./spl_math";
import { copy16 } from "./spl_vector";
import { filterARFastQ12 } from "./spl_filter";
import { unpackBits } from "./bitpack";
import { lsfDequant, lsfCheck } from "./lsf_quant";
import { decoderInterpolateLsf } from "./lsf_interpolate";
import { decodeResidual } from "./decode_residual";
import { doThePlc } from "./plc";
import { enhancerInterface } from "./enhancer";
import { xcorrCoef } from "./xcorr_coef";
import { hpOutput } from "./hp_filter";

const ORD1: i32 = LPC_FILTERORDER + 1;
const DECRES = new StaticArray<i16>(BLOCKL_MAX);
const PLCRES = new StaticArray<i16>(BLOCKL_MAX + LPC_FILTERORDER);
const SYNTDENUM = new StaticArray<i16>(NSUB_MAX * ORD1);
const WEIGHTDENUM = new StaticArray<i16>(NSUB_MAX * ORD1);
const PLCLPC = new StaticArray<i16>(ORD1);
const PARAMS = new StaticArray<i16>(P_SIZE);
const LSFDEQ = new StaticArray<i16>(LPC_FILTERORDER * LPC_N_MAX);

/** Map the 2nd/3rd stage indices of the first 40-sample block to the common lag layout. */
function indexConvDec(cb: usize): void {
  for (let k = 4; k < 6; k++) {
    const v = rd(cb, k);
    if (v >= 44 && v < 108) wr(cb, k, v + 64);
    else if (v >= 108 && v < 128) wr(cb, k, v + 128);
  }
}

/**
 * Decode one frame. good = false requests concealment (frame lost). Output
 * is blockl samples at `out`. Returns 0, or -1 after an internal decoding
 * failure (the state is then reset, as in the reference).
 */
export function decodeFrame(st: DecoderState, frame: usize, out: usize, good: bool): i32 {
  const decres = changetype<usize>(DECRES);
  const plcres = changetype<usize>(PLCRES);
  const syntdenum = changetype<usize>(SYNTDENUM);
  const plcLpc = changetype<usize>(PLCLPC);
  const par = changetype<usize>(PARAMS);
  const data = at(plcres, LPC_FILTERORDER);
  const blockl = st.blockl;
  const nsub = st.nsub;
  let mode = good ? 1 : 0;

  if (mode) {
    unpackBits(frame, par, st.mode == 30);
    const startIdx = rd(par, P_START);
    if (startIdx < 1) mode = 0;
    if (st.mode == 20 && startIdx > 3) mode = 0;
    if (st.mode == 30 && startIdx > 5) mode = 0;
    if (rd(par, P_EMPTY) == 1) mode = 0;
    if (mode) {
      const lsfdeq = changetype<usize>(LSFDEQ);
      indexConvDec(at(par, P_CB));
      lsfDequant(lsfdeq, at(par, P_LSF), st.lpcN);
      lsfCheck(lsfdeq, LPC_FILTERORDER, st.lpcN);
      decoderInterpolateLsf(syntdenum, changetype<usize>(WEIGHTDENUM), lsfdeq, st.lsfdeqold, st.mode == 30, nsub);
      if (!decodeResidual(st, par, decres, syntdenum)) {
        st.init(st.mode, st.useEnhancer);
        return -1;
      }
      doThePlc(st, plcres, plcLpc, 0, decres, at(syntdenum, ORD1 * (nsub - 1)), st.lastLag);
      copy16(decres, plcres, blockl);
    }
  }
  if (mode == 0) {
    doThePlc(st, plcres, plcLpc, 1, decres, syntdenum, st.lastLag);
    copy16(decres, plcres, blockl);
    for (let i = 0; i < nsub; i++) copy16(at(syntdenum, i * ORD1), plcLpc, ORD1);
  }

  if (st.useEnhancer) {
    st.lastLag = enhancerInterface(data, decres, st);
    copy16(at(data, -LPC_FILTERORDER), st.syntMem, LPC_FILTERORDER);
    // the enhancer delays by 40 (20 ms) or 80 (30 ms) samples: the first
    // one/two subframes still use the previous frame's last filters
    const lagSub = st.mode == 20 ? 1 : 2;
    for (let i = 0; i < nsub; i++) {
      const coef = i < lagSub
        ? at(st.oldSyntdenum, (i + nsub - lagSub) * ORD1)
        : at(syntdenum, (i - lagSub) * ORD1);
      filterARFastQ12(at(data, i * SUBL), at(data, i * SUBL), coef, ORD1, SUBL);
    }
    copy16(st.syntMem, at(data, blockl - LPC_FILTERORDER), LPC_FILTERORDER);
  } else {
    let lag: i32;
    if (st.mode == 20) {
      lag = xcorrCoef(at(decres, blockl - 60), at(decres, blockl - 60 - 20), 60, 80, 20, -1);
    } else {
      lag = xcorrCoef(at(decres, blockl - 80), at(decres, blockl - 80 - 20), 80, 100, 20, -1);
    }
    st.lastLag = lag;
    copy16(data, decres, blockl);
    copy16(at(data, -LPC_FILTERORDER), st.syntMem, LPC_FILTERORDER);
    for (let i = 0; i < nsub; i++) {
      filterARFastQ12(at(data, i * SUBL), at(data, i * SUBL), at(syntdenum, i * ORD1), ORD1, SUBL);
    }
    copy16(st.syntMem, at(data, blockl - LPC_FILTERORDER), LPC_FILTERORDER);
  }

  copy16(out, data, blockl);
  hpOutputFrame(st, out, blockl);
  copy16(st.oldSyntdenum, syntdenum, nsub * ORD1);
  st.prevEnhPl = mode == 0 ? 1 : 0;
  return 0;
}

function hpOutputFrame(st: DecoderState, out: usize, len: i32): void {
  hpOutput(out, changetype<usize>(HP_OUT_COEFS), st.hpY, st.hpX, len);
}
