//! Gzip bodies of firmware ≥ 25.42.2 (gateway-protocols §2.8) and the firmware comparison
//! that switches them on.
//!
//! The stream is written with deflate *stored* blocks: any gzip reader decodes it, and the
//! simulator needs no compression library for a quirk whose point is the framing, not the size.

/// Largest payload of one deflate stored block.
const STORED_BLOCK: usize = 0xffff;

/// The first firmware that gzips `/tedapi/*` bodies without `Content-Encoding`.
pub const GZIP_FIRMWARE: [u32; 3] = [25, 42, 2];

/// Wraps `data` in a gzip stream (header, stored deflate blocks, CRC-32 and length trailer).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let blocks = data.len() / STORED_BLOCK + 1;
    let mut out = Vec::with_capacity(data.len() + blocks * 5 + 18);
    // Magic, CM = deflate, no flags, mtime 0, no extra flags, OS 255 (unknown).
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut chunks = data.chunks(STORED_BLOCK).peekable();
    if chunks.peek().is_none() {
        // An empty body still needs one (final, empty) block.
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        // `chunks(STORED_BLOCK)` keeps every chunk within u16.
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32 by definition.
    out.extend_from_slice(&((data.len() & 0xffff_ffff) as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE 802.3, reflected), bit by bit: answers are tens of KiB, so a table buys nothing.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Whether a firmware text such as `25.42.2 abcdef01` or `24.12.6-PW3-AFCI 008bf6ff` is at
/// least `min`; text without a leading `major.minor` is treated as older.
pub fn firmware_at_least(firmware: &str, min: [u32; 3]) -> bool {
    let version = firmware.split_whitespace().next().unwrap_or_default();
    let mut parts = version.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let mut found = [0_u32; 3];
    for (index, slot) in found.iter_mut().enumerate() {
        match parts.next().flatten() {
            Some(number) => *slot = number,
            None if index < 2 => return false,
            None => break,
        }
    }
    found >= min
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerwall_gateway::tedapi::wire::decode_body;

    #[test]
    fn round_trips_through_the_clients_gunzip() {
        for data in [
            Vec::new(),
            b"1232100-00-E--TG123456789ABC".to_vec(),
            (0..200_000_u32).map(|i| (i % 251) as u8).collect(),
        ] {
            let packed = gzip(&data);
            assert_eq!(&packed[..2], &[0x1f, 0x8b]);
            assert_eq!(decode_body(&packed).unwrap().as_ref(), data.as_slice());
        }
    }

    #[test]
    fn crc_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn compares_firmware_versions() {
        assert!(firmware_at_least("25.42.2 abcdef01", GZIP_FIRMWARE));
        assert!(firmware_at_least("25.42.10", GZIP_FIRMWARE));
        assert!(firmware_at_least("26.1", GZIP_FIRMWARE));
        assert!(!firmware_at_least("25.42.1 abcdef01", GZIP_FIRMWARE));
        assert!(!firmware_at_least(
            "24.12.6-PW3-AFCI 008bf6ff",
            GZIP_FIRMWARE
        ));
        assert!(!firmware_at_least("23.28.2 27626f98", GZIP_FIRMWARE));
        assert!(!firmware_at_least("garbage", GZIP_FIRMWARE));
    }
}
