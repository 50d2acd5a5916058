// Start-state reconstruction (RFC 3951 4.2): scalar dequantisation of the
// start-state samples followed by the circular all-pass (phase) filtering
// with the synthesis filter, done as MA + AR filtering on a doubled buffer.

import { FRG_QUANT_MOD, STATE_SQ3 } from "./tables";
import { LPC_FILTERORDER, STATE_SHORT_LEN_30MS } from "./defs";
import { rd, wr } from "./spl_math";
import { zero16 } from "./spl_vector";
import { filterARFastQ12, filterMAFastQ12 } from "./spl_filter";

const NUMERATOR = new StaticArray<i16>(LPC_FILTERORDER + 1);
const VAL_VEC = new StaticArray<i16>(2 * STATE_SHORT_LEN_30MS + LPC_FILTERORDER);
const MA_VEC = new StaticArray<i16>(2 * STATE_SHORT_LEN_30MS + LPC_FILTERORDER);

/**
 * Decode `len` start-state samples into `out` from the scale index idxForMax,
 * the 3-bit sample indices idxVec and the synthesis filter syntDenum (Q12).
 */
export function stateConstruct(idxForMax: i32, idxVec: usize, syntDenum: usize, out: usize, len: i32): void {
  const numerator = changetype<usize>(NUMERATOR);
  const valVec = changetype<usize>(VAL_VEC);
  const maVec = changetype<usize>(MA_VEC);
  const sampleVal = valVec + (LPC_FILTERORDER << 1);
  const sampleMa = maVec + (LPC_FILTERORDER << 1);
  const sampleAr = sampleVal;

  for (let k = 0; k <= LPC_FILTERORDER; k++) {
    wr(numerator, k, rd(syntDenum, LPC_FILTERORDER - k));
  }
  const maxVal = <i32>unchecked(FRG_QUANT_MOD[idxForMax & 63]);

  // Scale so that the result is in Q(-1) whatever the Q of maxVal is.
  let round: i32;
  let shift: i32;
  if (idxForMax < 37) {
    round = 2097152;
    shift = 22;
  } else if (idxForMax < 59) {
    round = 262144;
    shift = 19;
  } else {
    round = 65536;
    shift = 17;
  }
  for (let k = 0; k < len; k++) {
    const q = rd(idxVec, len - 1 - k) & 7;
    wr(sampleVal, k, (maxVal * <i32>unchecked(STATE_SQ3[q]) + round) >> shift);
  }
  zero16(sampleVal + (len << 1), len);
  zero16(valVec, LPC_FILTERORDER);

  filterMAFastQ12(sampleVal, sampleMa, numerator, LPC_FILTERORDER + 1, len + LPC_FILTERORDER);
  zero16(sampleMa + ((len + LPC_FILTERORDER) << 1), len - LPC_FILTERORDER);
  filterARFastQ12(sampleMa, sampleAr, syntDenum, LPC_FILTERORDER + 1, 2 * len);

  for (let k = 0; k < len; k++) {
    wr(out, k, rd(sampleAr, len - 1 - k) + rd(sampleAr, 2 * len - 1 - k));
  }
}
