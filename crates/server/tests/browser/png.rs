//! Just enough PNG decoding to tell a blank screenshot from a drawn one: 8-bit RGB/RGBA,
//! non-interlaced (what DevTools captures), counting distinct pixel colours.

use std::collections::HashSet;
use std::io::Read;

/// Distinct colours in `png`, counting at most `cap` (a blank page has one).
pub fn distinct_colours(png: &[u8], cap: usize) -> usize {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut compressed = Vec::new();
    while pos + 8 <= png.len() {
        let length = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + length];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other} not handled"),
                };
                assert_eq!(data[12], 0, "interlaced PNG not handled");
            }
            b"IDAT" => compressed.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + length;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut raw)
        .expect("PNG data inflates");
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1), "PNG data size");
    let mut previous = vec![0u8; stride];
    let mut colours = HashSet::new();
    for row in raw.chunks(stride + 1) {
        let line = unfilter(row[0], &row[1..], &previous, channels);
        for pixel in line.chunks(channels) {
            colours.insert(pixel.to_vec());
            if colours.len() >= cap {
                return cap;
            }
        }
        previous = line;
    }
    colours.len()
}

/// Undoes one row's filter (PNG spec §9).
fn unfilter(filter: u8, row: &[u8], above: &[u8], bpp: usize) -> Vec<u8> {
    let mut out = vec![0u8; row.len()];
    for i in 0..row.len() {
        let left = if i >= bpp { out[i - bpp] } else { 0 };
        let up = above[i];
        let up_left = if i >= bpp { above[i - bpp] } else { 0 };
        let predictor = match filter {
            0 => 0,
            1 => left,
            2 => up,
            3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
            4 => paeth(left, up, up_left),
            other => panic!("PNG filter {other}"),
        };
        out[i] = row[i].wrapping_add(predictor);
    }
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
