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
