// One-frame iLBC encoder (RFC 3951 section 3 / WebRTC EncodeImpl): input
// high-pass, LPC analysis and LSF quantisation, LPC residual, start-state
// selection and scalar coding, then the adaptive-codebook coding of the
// remaining subframes forwards and (time-reversed) backwards, and packing.

import { EncoderState } from "./encoder_state";
import {
  BLOCKL_MAX, LPC_FILTERORDER, NSUB_MAX, SUBL, STATE_LEN, CB_MEML, CB_FILTERLEN, CB_HALFFILTERLEN,
  CB_NSTAGES, ST_MEM_L_TBL, MEM_LF_TBL, LPC_LOOKBACK, P_SIZE, P_LSF, P_CB, P_GAIN, P_IDXMAX,
  P_STATE_FIRST, P_IDXVEC, P_START,
} from "./defs";
import { HP_IN_COEFS } from "./tables";
import { rd, wr, at } from "./spl_math";
import { copy16, zero16, copyReversed } from "./spl_vector";
import { filterMAFastQ12 } from "./spl_filter";
import { hpInput } from "./hp_filter";
import { lpcEncode } from "./lpc_analysis";
import { frameClassify, chooseStateFirst } from "./frame_classify";
import { stateSearch } from "./state_search";
import { stateConstruct } from "./state_construct";
import { cbSearch } from "./cb_search";
import { cbConstruct } from "./cb_construct";
import { packBits } from "./bitpack";

const ORD1: i32 = LPC_FILTERORDER + 1;
const WEIGHTDENUM = new StaticArray<i16>(ORD1 * NSUB_MAX);
const DATA_VEC = new StaticArray<i16>(BLOCKL_MAX + LPC_FILTERORDER);
const MEM_VEC = new StaticArray<i16>(CB_MEML + CB_FILTERLEN);
const PARAMS = new StaticArray<i16>(P_SIZE);

/** Undo the decoder-side lag mapping of the first block's 2nd/3rd stage indices. */
function indexConvEnc(cb: usize): void {
  for (let k = 4; k < 6; k++) {
    const v = rd(cb, k);
    if (v >= 108 && v < 172) wr(cb, k, v - 64);
    else if (v >= 236) wr(cb, k, v - 128);
  }
}

/** Encode one frame of st.blockl samples at `block` into st.noOfBytes bytes at `out`. */
export function encodeFrame(st: EncoderState, block: usize, out: usize): void {
  const blockl = st.blockl;
  const nsub = st.nsub;
  const shortLen = st.stateShortLen;
  const par = changetype<usize>(PARAMS);
  const weightdenum = changetype<usize>(WEIGHTDENUM);
  const dataVec = changetype<usize>(DATA_VEC);
  const data = at(dataVec, LPC_FILTERORDER);
  const mem = at(changetype<usize>(MEM_VEC), CB_HALFFILTERLEN);
  const residual = at(st.lpcBuffer, LPC_LOOKBACK + BLOCKL_MAX - blockl);
  const syntdenum = mem; // used before mem is needed
  const decres = residual; // residual is overwritten by its decoded version
  const revRes = data; // reversed target / decoded residual
  const cbIdx = at(par, P_CB);
  const gainIdx = at(par, P_GAIN);
  for (let i = 0; i < P_SIZE; i++) wr(par, i, 0);

  copy16(data, block, blockl);
  hpInput(data, changetype<usize>(HP_IN_COEFS), st.hpY, st.hpX, blockl);
  lpcEncode(syntdenum, weightdenum, at(par, P_LSF), data, st);

  // LPC residual
  copy16(dataVec, st.anaMem, LPC_FILTERORDER);
  for (let n = 0; n < nsub; n++) {
    filterMAFastQ12(at(data, n * SUBL), at(residual, n * SUBL), at(syntdenum, n * ORD1), ORD1, SUBL);
  }
  copy16(st.anaMem, at(data, blockl - LPC_FILTERORDER), LPC_FILTERORDER);

  // start state position: 80-sample block, then its first or last 57/58 samples
  const startIdx = frameClassify(residual, blockl, nsub, st.mode == 20);
  wr(par, P_START, startIdx);
  const diff = STATE_LEN - shortLen;
  const stateFirst = chooseStateFirst(residual, startIdx, shortLen);
  wr(par, P_STATE_FIRST, stateFirst);
  const startPos = stateFirst ? (startIdx - 1) * SUBL : (startIdx - 1) * SUBL + diff;

  const sd = at(syntdenum, (startIdx - 1) * ORD1);
  const idxMax = stateSearch(at(residual, startPos), sd, at(weightdenum, (startIdx - 1) * ORD1), shortLen, stateFirst, at(par, P_IDXVEC));
  wr(par, P_IDXMAX, idxMax);
  stateConstruct(idxMax, at(par, P_IDXVEC), sd, at(decres, startPos), shortLen);

  // adaptive part of the 80-sample start block
  if (stateFirst) {
    zero16(mem, CB_MEML - shortLen);
    copy16(at(mem, CB_MEML - shortLen), at(decres, startPos), shortLen);
    cbSearch(cbIdx, gainIdx, at(residual, startPos + shortLen), at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff,
      at(weightdenum, startIdx * ORD1), 0, shortLen);
    cbConstruct(at(decres, startPos + shortLen), cbIdx, gainIdx, at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff);
  } else {
    copyReversed(at(revRes, diff - 1), at(residual, (startIdx + 1) * SUBL - STATE_LEN), diff);
    copyReversed(at(mem, CB_MEML - 1), at(decres, startPos), shortLen);
    zero16(mem, CB_MEML - shortLen);
    cbSearch(cbIdx, gainIdx, revRes, at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff,
      at(weightdenum, (startIdx - 1) * ORD1), 0, shortLen);
    cbConstruct(revRes, cbIdx, gainIdx, at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff);
    copyReversed(at(decres, startPos - 1), revRes, diff);
  }

  let subcount = 1;

  // forward prediction of subframes
  const nfor = nsub - startIdx - 1;
  if (nfor > 0) {
    zero16(mem, CB_MEML - STATE_LEN);
    copy16(at(mem, CB_MEML - STATE_LEN), at(decres, (startIdx - 1) * SUBL), STATE_LEN);
    for (let sf = 0; sf < nfor; sf++) {
      const pos = (startIdx + 1 + sf) * SUBL;
      const ci = at(cbIdx, subcount * CB_NSTAGES);
      const gi = at(gainIdx, subcount * CB_NSTAGES);
      cbSearch(ci, gi, at(residual, pos), mem, MEM_LF_TBL, SUBL, at(weightdenum, (startIdx + 1 + sf) * ORD1), subcount, shortLen);
      cbConstruct(at(decres, pos), ci, gi, mem, MEM_LF_TBL, SUBL);
      copy16(mem, at(mem, SUBL), CB_MEML - SUBL);
      copy16(at(mem, CB_MEML - SUBL), at(decres, pos), SUBL);
      subcount++;
    }
  }

  // backward prediction of subframes
  if (startIdx > 1) {
    const nback = startIdx - 1;
    copyReversed(at(revRes, nback * SUBL - 1), residual, nback * SUBL);
    let memlGotten = SUBL * (nsub + 1 - startIdx);
    if (memlGotten > CB_MEML) memlGotten = CB_MEML;
    copyReversed(at(mem, CB_MEML - 1), at(decres, nback * SUBL), memlGotten);
    zero16(mem, CB_MEML - memlGotten);
    for (let sf = 0; sf < nback; sf++) {
      const ci = at(cbIdx, subcount * CB_NSTAGES);
      const gi = at(gainIdx, subcount * CB_NSTAGES);
      const r = at(revRes, sf * SUBL);
      cbSearch(ci, gi, r, mem, MEM_LF_TBL, SUBL, at(weightdenum, (startIdx - 2 - sf) * ORD1), subcount, shortLen);
      cbConstruct(r, ci, gi, mem, MEM_LF_TBL, SUBL);
      copy16(mem, at(mem, SUBL), CB_MEML - SUBL);
      copy16(at(mem, CB_MEML - SUBL), r, SUBL);
      subcount++;
    }
    copyReversed(at(decres, SUBL * nback - 1), revRes, SUBL * nback);
  }

  indexConvEnc(cbIdx);
  packBits(par, out, st.mode == 30);
}
