// Excitation (residual) decoding of one frame (RFC 3951 4.3-4.5): start
// state, its adaptive extension to 80 samples, then forward and backward
// (time-reversed) codebook decoding of the remaining subframes.

import { DecoderState } from "./decoder_state";
import {
  STATE_LEN, SUBL, CB_MEML, CB_HALFFILTERLEN, CB_NSTAGES, ST_MEM_L_TBL, MEM_LF_TBL, LPC_FILTERORDER,
  P_START, P_STATE_FIRST, P_IDXMAX, P_IDXVEC, P_CB, P_GAIN,
} from "./defs";
import { rd, at } from "./spl_math";
import { copy16, zero16, copyReversed } from "./spl_vector";
import { stateConstruct } from "./state_construct";
import { cbConstruct } from "./cb_construct";

/**
 * Decode the residual of a frame into `decresidual` given the parameter
 * record `par` and the synthesis filters `syntdenum`. Uses the decoder's
 * enhancer buffer and PLC residual as scratch (as the reference does).
 */
export function decodeResidual(st: DecoderState, par: usize, decresidual: usize, syntdenum: usize): bool {
  const reverseRes = st.enhBuf;
  const memVec = st.prevResidual;
  const mem = at(memVec, CB_HALFFILTERLEN);
  const shortLen = st.stateShortLen;
  const diff = STATE_LEN - shortLen;
  const startIdx = rd(par, P_START);
  const stateFirst = rd(par, P_STATE_FIRST);
  const cbIdx = at(par, P_CB);
  const gainIdx = at(par, P_GAIN);

  const startPos = stateFirst == 1 ? (startIdx - 1) * SUBL : (startIdx - 1) * SUBL + diff;

  stateConstruct(
    rd(par, P_IDXMAX), at(par, P_IDXVEC), at(syntdenum, (startIdx - 1) * (LPC_FILTERORDER + 1)),
    at(decresidual, startPos), shortLen
  );

  if (stateFirst) {
    // adaptive part after the scalar start state
    zero16(mem, CB_MEML - shortLen);
    copy16(at(mem, CB_MEML - shortLen), at(decresidual, startPos), shortLen);
    if (!cbConstruct(at(decresidual, startPos + shortLen), cbIdx, gainIdx, at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff)) {
      return false;
    }
  } else {
    // adaptive part before the scalar start state, decoded time-reversed
    copyReversed(at(mem, CB_MEML - 1), at(decresidual, startPos), shortLen);
    zero16(mem, CB_MEML - shortLen);
    if (!cbConstruct(reverseRes, cbIdx, gainIdx, at(mem, CB_MEML - ST_MEM_L_TBL), ST_MEM_L_TBL, diff)) {
      return false;
    }
    copyReversed(at(decresidual, startPos - 1), reverseRes, diff);
  }

  let subcount = 1;

  // forward prediction of the subframes after the start state
  const nfor = st.nsub - startIdx - 1;
  if (nfor > 0) {
    zero16(mem, CB_MEML - STATE_LEN);
    copy16(at(mem, CB_MEML - STATE_LEN), at(decresidual, (startIdx - 1) * SUBL), STATE_LEN);
    for (let sf = 0; sf < nfor; sf++) {
      const dst = at(decresidual, (startIdx + 1 + sf) * SUBL);
      if (!cbConstruct(dst, at(cbIdx, subcount * CB_NSTAGES), at(gainIdx, subcount * CB_NSTAGES), mem, MEM_LF_TBL, SUBL)) {
        return false;
      }
      copy16(mem, at(mem, SUBL), CB_MEML - SUBL);
      copy16(at(mem, CB_MEML - SUBL), dst, SUBL);
      subcount++;
    }
  }

  // backward prediction of the subframes before the start state
  if (startIdx > 1) {
    let memlGotten = SUBL * (st.nsub + 1 - startIdx);
    if (memlGotten > CB_MEML) memlGotten = CB_MEML;
    copyReversed(at(mem, CB_MEML - 1), at(decresidual, (startIdx - 1) * SUBL), memlGotten);
    zero16(mem, CB_MEML - memlGotten);
    const nback = startIdx - 1;
    for (let sf = 0; sf < nback; sf++) {
      const dst = at(reverseRes, sf * SUBL);
      if (!cbConstruct(dst, at(cbIdx, subcount * CB_NSTAGES), at(gainIdx, subcount * CB_NSTAGES), mem, MEM_LF_TBL, SUBL)) {
        return false;
      }
      copy16(mem, at(mem, SUBL), CB_MEML - SUBL);
      copy16(at(mem, CB_MEML - SUBL), dst, SUBL);
      subcount++;
    }
    copyReversed(at(decresidual, SUBL * nback - 1), reverseRes, SUBL * nback);
  }
  return true;
}
