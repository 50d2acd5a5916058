// Codebook preparation for the encoder search (RFC 3951 3.6.2-3.6.3):
// the filtered (expanded) codebook memory, the crossfaded samples of the
// augmented vectors, and the normalised energies of all codebook vectors.

import { CB_FILTERS_REV, CB_ALPHA } from "./tables";
import { CB_HALFFILTERLEN, CB_FILTERLEN, SUBL } from "./defs";
import { rd, wr, s16, normW32, divW32W16, imax } from "./spl_math";
import { dotProductWithScale, zero16 } from "./spl_vector";
import { filterMAFastQ12 } from "./spl_filter";

/** Filtered second codebook section from CBmem (zero state outside). */
export function filteredCbVecs(cbvectors: usize, cbMem: usize, lMem: i32, samples: i32): void {
  zero16(cbMem + <usize>(lMem << 1), CB_HALFFILTERLEN);
  zero16(cbMem - <usize>(CB_HALFFILTERLEN << 1), CB_HALFFILTERLEN);
  zero16(cbvectors, lMem - samples);
  filterMAFastQ12(
    cbMem + <usize>((CB_HALFFILTERLEN + lMem - samples) << 1), cbvectors + <usize>((lMem - samples) << 1),
    changetype<usize>(CB_FILTERS_REV), CB_FILTERLEN, samples
  );
}

/** The 4 crossfaded samples of each augmented vector (lags 20..39), 20 x 4. */
export function interpolateSamples(out: usize, cbMem: usize, lMem: i32): void {
  let k = 0;
  for (let j = 0; j < 20; j++) {
    const ppo = lMem - 4;
    const ppi = lMem - j - 24;
    for (let i = 0; i < 4; i++) {
      const a = s16((<i32>unchecked(CB_ALPHA[3 - i]) * rd(cbMem, ppo + i)) >> 15);
      const b = s16((<i32>unchecked(CB_ALPHA[i]) * rd(cbMem, ppi + i)) >> 15);
      wr(out, k++, a + b);
    }
  }
}

@inline function storeNormEnergy(energyW16: usize, shifts: usize, idx: i32, energy: i32): void {
  const sh = normW32(energy);
  wr(shifts, idx, sh);
  wr(energyW16, idx, (energy << sh) >> 16);
}

/** Recursive energy update over `range` lags (add one sample, drop one). */
function cbMemEnergyCalc(
  energy: i32, range: i32, ppi: usize, ppo: usize, energyW16: usize, shifts: usize, scale: i32, base: i32
): void {
  for (let j = 0; j + 1 < range; j++) {
    const a = rd(ppi, -j);
    const b = rd(ppo, -j);
    energy += (a * a - b * b) >> scale;
    energy = imax(energy, 0);
    storeNormEnergy(energyW16, shifts, base + 1 + j, energy);
  }
}

/** Energies of the `range` lag vectors of both codebook sections (second at offset base). */
export function cbMemEnergy(
  range: i32, cb: usize, filteredCb: usize, lMem: i32, lTarget: i32, energyW16: usize, shifts: usize, scale: i32, base: i32
): void {
  let pp = cb + <usize>((lMem - lTarget) << 1);
  let energy = dotProductWithScale(pp, pp, lTarget, scale);
  storeNormEnergy(energyW16, shifts, 0, energy);
  cbMemEnergyCalc(energy, range, cb + <usize>((lMem - lTarget - 1) << 1), cb + <usize>((lMem - 1) << 1), energyW16, shifts, scale, 0);

  pp = filteredCb + <usize>((lMem - lTarget) << 1);
  energy = dotProductWithScale(pp, pp, lTarget, scale);
  storeNormEnergy(energyW16, shifts, base, energy);
  cbMemEnergyCalc(energy, range, filteredCb + <usize>((lMem - 1 - lTarget) << 1), filteredCb + <usize>((lMem - 1) << 1), energyW16, shifts, scale, base);
}

/** Energies of the 20 augmented vectors, stored at [base-20, base). cbMem has 147 samples. */
export function cbMemEnergyAugmentation(
  interp: usize, cbMem: usize, scale: i32, base: i32, energyW16: usize, shifts: usize
): void {
  const end = cbMem + <usize>(147 << 1);
  let nrj = dotProductWithScale(end - 38, end - 38, 15, scale);
  let ip = interp;
  for (let lag = 20; lag <= 39; lag++) {
    const e = rd(end, -lag);
    nrj += (e * e) >> scale;
    let energy = nrj;
    energy += dotProductWithScale(ip, ip, 4, scale);
    ip += 8;
    const pp = end - <usize>(lag << 1);
    energy += dotProductWithScale(pp, pp, SUBL - lag, scale);
    storeNormEnergy(energyW16, shifts, base - 20 + lag - 20, energy);
  }
}

/** In place: energy -> 0x1FFFFFFF / max(energy, 16384) (Q29 inverse). */
export function energyInverse(energy: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let e = rd(energy, i);
    if (e < 16384) e = 16384;
    wr(energy, i, divW32W16(0x1fffffff, e));
  }
}
