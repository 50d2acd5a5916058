/**
 * Audio codec chip (hal/ABI.md §audio): full-duplex 16-bit PCM in 10 ms frames.
 * While started, the host calls onAudio every 10 ms with one microphone frame in the audio buffer,
 * and the firmware plays one speaker frame per call with audioPlay.
 */
/** Starts the codec chip at `rateHz` (8000 or 16000). Returns HAL_OK or HAL_EINVAL. */
@external("audio", "start")
export declare function audioStart(rateHz: i32): i32;
@external("audio", "stop")
export declare function audioStop(): i32;
/** Queues `samples` i16 samples at `ptr` for the speaker. Returns samples accepted. */
@external("audio", "play")
export declare function audioPlay(ptr: usize, samples: i32): i32;
/** Output of the codec chip: the handset earpiece, or the loudspeaker (ringer, hands-free). */
export const AUDIO_HANDSET: i32 = 0;
export const AUDIO_LOUDSPEAKER: i32 = 1;
/** Routes speaker samples (audioPlay) to `output` (AUDIO_HANDSET or AUDIO_LOUDSPEAKER). Returns HAL_OK, HAL_EINVAL or HAL_NOSYS. */
@external("audio", "route")
export declare function audioRoute(output: i32): i32;
/**
 * Sets the analog volume of `output` in steps of 3 dB: step 5 is 0 dB (unity), 0 mutes, 8 is the maximum
 * (+9 dB). Returns HAL_OK, HAL_EINVAL (bad output or step) or HAL_NOSYS.
 */
@external("audio", "volume")
export declare function audioVolume(output: i32, step: i32): i32;
