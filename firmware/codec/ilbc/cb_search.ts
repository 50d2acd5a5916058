// Three-stage adaptive codebook search with gain quantisation (RFC 3951
// 3.6): perceptually weighted target and codebook memory, search over the
// plain + augmented section and around the best lag in the filtered
// section, sequential target update per stage, and the final energy-
// matching adjustment of the first-stage gain.

import { FILTER_RANGE, SEARCH_RANGE, GAIN_SQ5, GAIN_SQ5_SQ } from "./tables";
import {
  CB_MEML, LPC_FILTERORDER, CB_HALFFILTERLEN, SUBL, CB_EXPAND, CB_NSTAGES, CB_RESRANGE, STATE_LEN,
} from "./defs";
import { rd, wr, rd32, at, at32, s16, sizeInBits, normW32, shiftW32, imax, imin } from "./spl_math";
import { maxAbsW16, dotProductWithScale, crossCorrelation, copy16, zero16, addAffineVectorToVector } from "./spl_vector";
import { filterARFastQ12 } from "./spl_filter";
import { filteredCbVecs, interpolateSamples, cbMemEnergy, cbMemEnergyAugmentation, energyInverse } from "./cb_energy";
import {
  augmentedCbCorr, cbSearchCore, coreBestIndex, coreBestCrit, coreBestCritSh,
  resetBest, cbUpdateBestIndex, bestIndex, bestGain,
} from "./cb_search_core";
import { gainQuant } from "./gain_quant";
import { createAugmentedVec } from "./cb_construct";

const ORD1: i32 = LPC_FILTERORDER + 1;
const CB_BUF = new StaticArray<i16>(CB_MEML + LPC_FILTERORDER + CB_HALFFILTERLEN);
const C_DOT = new StaticArray<i32>(128);
const CRIT = new StaticArray<i32>(128);
const TARGET_VEC = new StaticArray<i16>(SUBL + LPC_FILTERORDER);
const CB_VECTORS = new StaticArray<i16>(CB_MEML + 1);
const CODED_VEC = new StaticArray<i16>(SUBL);
const INTERP = new StaticArray<i16>(20 * 4);
const INTERP_FILT = new StaticArray<i16>(20 * 4);
const ENERGY = new StaticArray<i16>(CB_EXPAND * 128);
const ENERGY_SH = new StaticArray<i16>(CB_EXPAND * 128);
const AUG_VEC = new StaticArray<i16>(SUBL);
const GAINS = new StaticArray<i16>(CB_NSTAGES + 1);

@inline function range3(block: i32, stage: i32): i32 {
  return unchecked(SEARCH_RANGE[block * 3 + stage]);
}

/**
 * Search codebook indices (index[0..2]) and gain indices (gainIndex[0..2])
 * for `intarget` (lTarget samples) given the decoded residual memory
 * decRes[0..lMem) and the weighting filter. `block` selects the ranges.
 */
export function cbSearch(
  index: usize, gainIndex: usize, intarget: usize, decRes: usize, lMem: i32, lTarget: i32,
  weightDenum: usize, block: i32, stateShortLen: i32
): void {
  const buf = at(changetype<usize>(CB_BUF), LPC_FILTERORDER);
  const target = at(changetype<usize>(TARGET_VEC), LPC_FILTERORDER);
  const cDot = changetype<usize>(C_DOT);
  const crit = changetype<usize>(CRIT);
  const cbvectors = changetype<usize>(CB_VECTORS);
  const codedVec = changetype<usize>(CODED_VEC);
  const interp = changetype<usize>(INTERP);
  const interpFilt = changetype<usize>(INTERP_FILT);
  const invEnergy = changetype<usize>(ENERGY);
  const invEnergySh = changetype<usize>(ENERGY_SH);
  const gains = changetype<usize>(GAINS);
  const isSubl = lTarget == SUBL;

  const baseSize = isSubl ? lMem - 19 : lMem - lTarget + 1;

  // perceptual weighting of codebook memory and target
  const filterRange = <i32>unchecked(FILTER_RANGE[block]);
  const noOfZeros = lMem - filterRange;
  zero16(at(buf, -LPC_FILTERORDER), noOfZeros + LPC_FILTERORDER);
  filterARFastQ12(at(decRes, noOfZeros), at(buf, noOfZeros), weightDenum, ORD1, filterRange);
  copy16(at(target, -LPC_FILTERORDER), at(buf, noOfZeros + filterRange - LPC_FILTERORDER), LPC_FILTERORDER);
  filterARFastQ12(intarget, target, weightDenum, ORD1, lTarget);
  copy16(codedVec, target, lTarget);

  let t1 = maxAbsW16(buf, lMem);
  const t2 = maxAbsW16(target, lTarget);
  let scale: i32;
  if (t1 > 0 && t2 > 0) {
    t1 = imax(t1, t2);
    scale = sizeInBits(<u32>(t1 * t1));
  } else {
    scale = 30;
  }
  scale = imax(0, scale - 25);

  let targetEner = dotProductWithScale(target, target, lTarget, scale);

  filteredCbVecs(cbvectors, buf, lMem, filterRange);

  let range = range3(block, 0);
  if (isSubl) {
    interpolateSamples(interp, buf, lMem);
    interpolateSamples(interpFilt, cbvectors, lMem);
    cbMemEnergyAugmentation(interp, buf, scale, 20, invEnergy, invEnergySh);
    cbMemEnergyAugmentation(interpFilt, cbvectors, scale, baseSize + 20, invEnergy, invEnergySh);
    cbMemEnergy(range, buf, cbvectors, lMem, lTarget, at(invEnergy, 20), at(invEnergySh, 20), scale, baseSize);
  } else {
    cbMemEnergy(range, buf, cbvectors, lMem, lTarget, invEnergy, invEnergySh, scale, baseSize);
    zero16(at(invEnergy, range), baseSize - range);
    zero16(at(invEnergy, range + baseSize), baseSize - range);
  }
  energyInverse(invEnergy, baseSize * CB_EXPAND);

  wr(gains, 0, 16384);
  for (let stage = 0; stage < CB_NSTAGES; stage++) {
    range = range3(block, stage);
    resetBest();

    // first section: plain lags (+ augmented lags for 40-sample targets)
    let cDotPtr = cDot;
    if (isSubl) {
      augmentedCbCorr(target, at(buf, lMem), interp, cDot, 20, 39, scale);
      cDotPtr = at32(cDot, 20);
    }
    crossCorrelation(cDotPtr, target, at(buf, lMem - lTarget), lTarget, range, scale, -1);
    if (isSubl) range = range3(block, stage) + 20;

    cbSearchCore(cDot, range, stage, invEnergy, invEnergySh, crit);
    let idx = coreBestIndex;
    cbUpdateBestIndex(coreBestCrit, coreBestCritSh, idx, rd32(cDot, idx), rd(invEnergy, idx), rd(invEnergySh, idx));

    // second section: filtered codebook around the best lag so far
    let sInd = (CB_RESRANGE >> 1) > bestIndex ? 0 : bestIndex - (CB_RESRANGE >> 1);
    let eInd = sInd + CB_RESRANGE;
    if (eInd >= range) {
      eInd = range - 1;
      sInd = eInd - CB_RESRANGE;
    }
    range = range3(block, stage);
    if (isSubl) {
      let i = sInd;
      if (sInd < 20) {
        augmentedCbCorr(target, at(cbvectors, lMem), interpFilt, cDot, sInd + 20, imin(39, eInd + 20), scale);
        i = 20;
        cDotPtr = at32(cDot, 20 - sInd);
      } else {
        cDotPtr = cDot;
      }
      crossCorrelation(cDotPtr, target, at(cbvectors, lMem - 20 - i), lTarget, eInd - i + 1, scale, -1);
    } else {
      crossCorrelation(cDot, target, at(cbvectors, lMem - lTarget - sInd), lTarget, eInd - sInd + 1, scale, -1);
    }
    const indexOffset = baseSize + sInd;
    cbSearchCore(cDot, eInd - sInd + 1, stage, at(invEnergy, indexOffset), at(invEnergySh, indexOffset), crit);
    idx = coreBestIndex;
    cbUpdateBestIndex(
      coreBestCrit, coreBestCritSh, idx + indexOffset, rd32(cDot, idx),
      rd(invEnergy, idx + indexOffset), rd(invEnergySh, idx + indexOffset)
    );

    let ind = s16(bestIndex);
    const g = gainQuant(bestGain, s16(iabs16(rd(gains, stage))), stage, at(gainIndex, stage));

    // pick the chosen vector; reorder indices so augmented vectors come last
    let pp: usize;
    if (lTarget == STATE_LEN - stateShortLen) {
      pp = ind < baseSize ? at(buf, lMem - lTarget - ind) : at(cbvectors, lMem - lTarget - ind + baseSize);
    } else if (ind < baseSize) {
      if (ind >= 20) {
        ind -= 20;
        pp = at(buf, lMem - lTarget - ind);
      } else {
        ind += baseSize - 20;
        createAugmentedVec(ind - baseSize + 40, at(buf, lMem), changetype<usize>(AUG_VEC));
        pp = changetype<usize>(AUG_VEC);
      }
    } else {
      if (ind - baseSize >= 20) {
        ind -= 20;
        pp = at(cbvectors, lMem - lTarget - ind + baseSize);
      } else {
        ind += baseSize - 20;
        createAugmentedVec(ind - 2 * baseSize + 40, at(cbvectors, lMem), changetype<usize>(AUG_VEC));
        pp = changetype<usize>(AUG_VEC);
      }
    }
    wr(index, stage, ind);
    addAffineVectorToVector(target, pp, s16(-g), 8192, 14, lTarget);
    wr(gains, stage + 1, g);
  }

  // energy matching of the first-stage gain
  for (let i = 0; i < lTarget; i++) wr(codedVec, i, rd(codedVec, i) - rd(target, i));
  const codedEner = dotProductWithScale(codedVec, codedVec, lTarget, scale);
  let j = rd(gainIndex, 0);
  const n1 = normW32(codedEner);
  const n2 = normW32(targetEner);
  const bits = s16(n1 < n2 ? 16 - n1 : 16 - n2);
  const g1 = rd(gains, 1);
  const tmp = s16((g1 * g1) >> 14);
  targetEner = s16(shiftW32(targetEner, -bits)) * tmp;
  const limit = (g1 - 1) << 1;
  const coded16 = s16(shiftW32(codedEner, -bits));
  let cur = <i32>unchecked(GAIN_SQ5[j]);
  for (let ii = rd(gainIndex, 0); ii < 32; ii++) {
    const t32 = coded16 * <i32>unchecked(GAIN_SQ5_SQ[ii]) - targetEner;
    if (t32 < 0 && cur < limit) {
      j = ii;
      cur = <i32>unchecked(GAIN_SQ5[ii]);
    }
  }
  wr(gainIndex, 0, j);
}

@inline function iabs16(v: i32): i32 {
  return v >= 0 ? v : -v;
}
