/**
 * RTP fixed header (RFC 3550 §5.1), 12 bytes, no CSRCs or extensions:
 *   V=2 P X CC | M PT | sequence number (16) | timestamp (32) | SSRC (32)
 */
export const RTP_HEADER_BYTES: i32 = 12;

export function rtpWriteHeader(p: usize, pt: u8, marker: bool, seq: u16, timestamp: u32, ssrc: u32): void {
  store<u8>(p, 0x80);
  store<u8>(p + 1, (marker ? 0x80 : 0) | (pt & 0x7F));
  store<u8>(p + 2, <u8>(seq >> 8)); store<u8>(p + 3, <u8>seq);
  store<u8>(p + 4, <u8>(timestamp >> 24)); store<u8>(p + 5, <u8>(timestamp >> 16));
  store<u8>(p + 6, <u8>(timestamp >> 8)); store<u8>(p + 7, <u8>timestamp);
  store<u8>(p + 8, <u8>(ssrc >> 24)); store<u8>(p + 9, <u8>(ssrc >> 16));
  store<u8>(p + 10, <u8>(ssrc >> 8)); store<u8>(p + 11, <u8>ssrc);
}

/** Parsed header fields of the last packet given to rtpParse. */
export class RtpHeader {
  pt: u8 = 0;
  marker: bool = false;
  seq: u16 = 0;
  timestamp: u32 = 0;
  ssrc: u32 = 0;
  /** Offset and length of the payload within the packet. */
  payloadOffset: i32 = 0;
  payloadLen: i32 = 0;
}

/**
 * Parses an RTP packet of `len` bytes (RFC 3550 §5.1, skipping CSRCs §5.1 and a header extension §5.3.1,
 * honouring padding). Returns false for anything that is not version 2 or whose lengths don't add up.
 */
export function rtpParse(p: usize, len: i32, h: RtpHeader): bool {
  if (len < RTP_HEADER_BYTES) return false;
  const b0 = <i32>load<u8>(p);
  if ((b0 >> 6) != 2) return false;
  const cc = b0 & 15;
  let off = RTP_HEADER_BYTES + 4 * cc;
  if (off > len) return false;
  if ((b0 & 0x10) != 0) {
    if (off + 4 > len) return false;
    const extWords = (<i32>load<u8>(p + <usize>off + 2) << 8) | <i32>load<u8>(p + <usize>off + 3);
    off += 4 + 4 * extWords;
    if (off > len) return false;
  }
  let end = len;
  if ((b0 & 0x20) != 0) {
    const pad = <i32>load<u8>(p + <usize>len - 1);
    if (pad == 0 || off + pad > len) return false;
    end -= pad;
  }
  const b1 = <i32>load<u8>(p + 1);
  h.marker = (b1 & 0x80) != 0;
  h.pt = <u8>(b1 & 0x7F);
  h.seq = <u16>((<i32>load<u8>(p + 2) << 8) | <i32>load<u8>(p + 3));
  h.timestamp = (<u32>load<u8>(p + 4) << 24) | (<u32>load<u8>(p + 5) << 16) | (<u32>load<u8>(p + 6) << 8) | <u32>load<u8>(p + 7);
  h.ssrc = (<u32>load<u8>(p + 8) << 24) | (<u32>load<u8>(p + 9) << 16) | (<u32>load<u8>(p + 10) << 8) | <u32>load<u8>(p + 11);
  h.payloadOffset = off;
  h.payloadLen = end - off;
  return true;
}
