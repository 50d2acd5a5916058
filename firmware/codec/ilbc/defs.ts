// Dimensions and constants of iLBC (RFC 3951 section 3 / WebRTC fixed point).

export const BLOCKL_20MS: i32 = 160;
export const BLOCKL_30MS: i32 = 240;
export const BLOCKL_MAX: i32 = 240;
export const NSUB_20MS: i32 = 4;
export const NSUB_30MS: i32 = 6;
export const NSUB_MAX: i32 = 6;
export const NASUB_20MS: i32 = 2;
export const NASUB_30MS: i32 = 4;
export const NASUB_MAX: i32 = 4;
export const SUBL: i32 = 40;
export const STATE_LEN: i32 = 80;
export const STATE_SHORT_LEN_30MS: i32 = 58;
export const STATE_SHORT_LEN_20MS: i32 = 57;

export const LPC_FILTERORDER: i32 = 10;
export const LPC_ORDER_PLUS1: i32 = 11;
export const LPC_LOOKBACK: i32 = 60;
export const LPC_N_20MS: i32 = 1;
export const LPC_N_30MS: i32 = 2;
export const LPC_N_MAX: i32 = 2;
export const LPC_ASYMDIFF: i32 = 20;
export const LSF_NSPLIT: i32 = 3;
export const LSF_NUMBER_OF_STEPS: i32 = 4;
export const LPC_HALFORDER: i32 = 5;
export const COS_GRID_POINTS: i32 = 60;

export const CB_NSTAGES: i32 = 3;
export const CB_EXPAND: i32 = 2;
export const CB_MEML: i32 = 147;
export const CB_FILTERLEN: i32 = 8;
export const CB_HALFFILTERLEN: i32 = 4;
export const CB_RESRANGE: i32 = 34;
export const CB_MAXGAIN_FIXQ6: i32 = 83;
export const CB_MAXGAIN_FIXQ14: i32 = 21299;

export const ENH_BLOCKL: i32 = 80;
export const ENH_BLOCKL_HALF: i32 = 40;
export const ENH_HL: i32 = 3;
export const ENH_SLOP: i32 = 2;
export const ENH_PLOCSL: i32 = 8;
export const ENH_OVERHANG: i32 = 2;
export const ENH_UPS0: i32 = 4;
export const ENH_FL0: i32 = 3;
export const ENH_FLO_MULT2_PLUS1: i32 = 7;
export const ENH_VECTL: i32 = ENH_BLOCKL + 2 * ENH_FL0;
export const ENH_CORRDIM: i32 = 2 * ENH_SLOP + 1;
export const ENH_NBLOCKS_TOT: i32 = 8;
export const ENH_BUFL: i32 = ENH_NBLOCKS_TOT * ENH_BLOCKL;
export const ENH_BUFL_FILTEROVERHEAD: i32 = 3;
export const ENH_A0: i32 = 819; // Q14
export const ENH_A0_MINUS_A0A0DIV4: i32 = 848256041; // Q34
export const ENH_A0DIV2: i32 = 26843546; // Q30

export const FILTERORDER_DS_PLUS1: i32 = 7;
export const DELAY_DS: i32 = 3;
export const FACTOR_DS: i32 = 2;

export const NO_OF_BYTES_20MS: i32 = 38;
export const NO_OF_BYTES_30MS: i32 = 50;
export const NO_OF_WORDS_20MS: i32 = 19;
export const NO_OF_WORDS_30MS: i32 = 25;
export const STATE_BITS: i32 = 3;
export const ST_MEM_L_TBL: i32 = 85;
export const MEM_LF_TBL: i32 = 147;

// Layout of the decoded-parameter record (an i16 array, see bitpack.ts).
export const P_LSF: i32 = 0; // 6 LSF split-VQ indices
export const P_CB: i32 = 6; // 15 codebook indices (3 stages x 5 blocks)
export const P_GAIN: i32 = 21; // 15 gain indices
export const P_IDXMAX: i32 = 36; // start-state scale index
export const P_STATE_FIRST: i32 = 37; // 1: scalar state is first part of the 80-sample block
export const P_IDXVEC: i32 = 38; // 58 start-state sample indices
export const P_START: i32 = 96; // start subframe index (1-based)
export const P_EMPTY: i32 = 97; // "empty frame" flag (last bit)
export const P_SIZE: i32 = 98;
