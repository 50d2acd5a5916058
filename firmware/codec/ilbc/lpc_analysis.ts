// Encoder LPC analysis and LSF coding (RFC 3951 3.2): windowed
// autocorrelation (symmetric Hanning for the first analysis in 30 ms
// mode, asymmetric for the last), lag window, Levinson-Durbin, bandwidth
// expansion, LSF conversion, quantisation and stability check, followed by
// the per-subframe filter interpolation (lsf_interpolate.ts).

import { EncoderState } from "./encoder_state";
import { LPC_WIN, LPC_ASYM_WIN, LPC_LAG_WIN, CHIRP_SYNT } from "./tables";
import { LPC_FILTERORDER, LPC_LOOKBACK, BLOCKL_MAX, LPC_N_MAX } from "./defs";
import { wr, at } from "./spl_math";
import { copy16, zero16, elementwiseMult } from "./spl_vector";
import { autoCorrelation, window32W32, levinsonDurbin } from "./levinson";
import { polyToLsf } from "./poly_to_lsf";
import { lsfQuant } from "./lsf_quant";
import { lsfCheck } from "./lsf_quant";
import { bwExpand } from "./lsf_to_poly";
import { encoderInterpolateLsf } from "./lsf_interpolate";

const ORD1: i32 = LPC_FILTERORDER + 1;
const A_COEF = new StaticArray<i16>(ORD1);
const R_CORR = new StaticArray<i32>(ORD1);
const WINDOWED = new StaticArray<i16>(BLOCKL_MAX);
const RC = new StaticArray<i16>(LPC_FILTERORDER);
const LSF = new StaticArray<i16>(LPC_FILTERORDER * LPC_N_MAX);
const LSFDEQ = new StaticArray<i16>(LPC_FILTERORDER * LPC_N_MAX);

/** Unquantised LSFs (lpcN vectors) of the new block `data` (blockl samples). */
function simpleLpcAnalysis(lsf: usize, data: usize, st: EncoderState): void {
  const buf = st.lpcBuffer;
  const A = changetype<usize>(A_COEF);
  const R = changetype<usize>(R_CORR);
  const win = changetype<usize>(WINDOWED);
  let is = LPC_LOOKBACK + BLOCKL_MAX - st.blockl;
  copy16(at(buf, is), data, st.blockl);
  for (let k = 0; k < st.lpcN; k++) {
    if (k < st.lpcN - 1) {
      elementwiseMult(win, buf, changetype<usize>(LPC_WIN), BLOCKL_MAX, 15);
    } else {
      elementwiseMult(win, at(buf, LPC_LOOKBACK), changetype<usize>(LPC_ASYM_WIN), BLOCKL_MAX, 15);
    }
    autoCorrelation(win, BLOCKL_MAX, LPC_FILTERORDER, R);
    window32W32(R, R, changetype<usize>(LPC_LAG_WIN), ORD1);
    if (levinsonDurbin(R, A, changetype<usize>(RC), LPC_FILTERORDER) != 1) {
      wr(A, 0, 4096);
      zero16(at(A, 1), LPC_FILTERORDER);
    }
    bwExpand(A, A, changetype<usize>(CHIRP_SYNT), ORD1);
    polyToLsf(at(lsf, k * LPC_FILTERORDER), A);
  }
  is = LPC_LOOKBACK + BLOCKL_MAX - st.blockl;
  copy16(buf, at(buf, LPC_LOOKBACK + BLOCKL_MAX - is), is);
}

/** LPC analysis, LSF quantisation (indices into lsfIndex) and filter interpolation. */
export function lpcEncode(syntdenum: usize, weightdenum: usize, lsfIndex: usize, data: usize, st: EncoderState): void {
  const lsf = changetype<usize>(LSF);
  const lsfdeq = changetype<usize>(LSFDEQ);
  simpleLpcAnalysis(lsf, data, st);
  lsfQuant(lsfdeq, lsfIndex, lsf, st.lpcN);
  lsfCheck(lsfdeq, LPC_FILTERORDER, st.lpcN);
  encoderInterpolateLsf(syntdenum, weightdenum, lsf, lsfdeq, st);
}
