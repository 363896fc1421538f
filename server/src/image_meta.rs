//! What an uploaded image keeps: its pixels, nothing about where, when or with what it was
//! taken. Cameras write the place (GPS), the time, the device and free text into JPEG and PNG
//! files; none of that is a data category of the privacy notice, so every image staff upload
//! (photos, profile pictures, image documents) is rewritten without it before it is stored.
//!
//! - JPEG: only the segments a decoder needs stay (JFIF `APP0`, an ICC colour profile in
//!   `APP2`, Adobe `APP14`, tables, frame and scan headers); Exif and XMP (`APP1`), IPTC
//!   (`APP13`), the other application segments (MPF among them) and comments go, and so does
//!   anything after the end-of-image marker (the extra images and videos some phones append).
//! - PNG: the text chunks (`tEXt`, `zTXt`, `iTXt`), `eXIf` and `tIME` go; anything after `IEND`
//!   is not carried over.
//!
//! A body that does not parse as the type it claims is refused (`400`): what cannot be read
//! cannot be cleaned.

use crate::error::{AppError, AppResult};
use img_parts::Bytes;
use img_parts::jpeg::{Jpeg, JpegSegment};
use img_parts::png::Png;

/// JPEG markers (the byte after `0xFF`).
const APP0: u8 = 0xE0;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const APP15: u8 = 0xEF;
const COM: u8 = 0xFE;
const EOI: u8 = 0xD9;
/// How an ICC profile's `APP2` segment starts (MPF and others share the marker).
const ICC_PREFIX: &[u8] = b"ICC_PROFILE\0";
/// PNG chunks that carry text, Exif or a time.
const PNG_METADATA: [&[u8; 4]; 5] = [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"];

/// Returns `body` without its metadata, for the image types `mime` names; other types pass
/// through as they are.
pub fn strip(mime: &str, body: Bytes) -> AppResult<Bytes> {
    match mime {
        "image/jpeg" => strip_jpeg(body),
        "image/png" => strip_png(body),
        _ => Ok(body),
    }
}

fn unreadable() -> AppError {
    AppError::invalid("body", "the image cannot be read")
}

/// Whether a JPEG segment stays.
fn keep_segment(s: &JpegSegment) -> bool {
    match s.marker() {
        APP0 | APP14 => true,
        APP2 => s.contents().starts_with(ICC_PREFIX),
        m if (APP0..=APP15).contains(&m) || m == COM => false,
        _ => true,
    }
}

fn strip_jpeg(body: Bytes) -> AppResult<Bytes> {
    let mut jpeg = Jpeg::from_bytes(body).map_err(|_| unreadable())?;
    // An image has a scan; without one there are no pixels, only headers.
    if !jpeg.segments().iter().any(JpegSegment::has_entropy) {
        return Err(unreadable());
    }
    jpeg.segments_mut().retain(keep_segment);
    // The scan's data runs to the end of the upload; it ends at the first end-of-image marker
    // (inside the scan a 0xFF is always followed by 0x00 or a restart marker).
    let headers: usize = 2 + jpeg.segments().iter().map(JpegSegment::len).sum::<usize>();
    let out = jpeg.encoder().bytes();
    let end = out
        .get(headers..)
        .and_then(|scan| scan.windows(2).position(|w| w == [0xFF, EOI]))
        .map(|at| headers + at + 2)
        .ok_or_else(unreadable)?;
    Ok(out.slice(..end))
}

fn strip_png(body: Bytes) -> AppResult<Bytes> {
    let mut png = Png::from_bytes(body).map_err(|_| unreadable())?;
    png.chunks_mut()
        .retain(|c| !PNG_METADATA.iter().any(|k| c.kind() == **k));
    Ok(png.encoder().bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use img_parts::png::PngChunk;

    fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
        let len = u16::try_from(contents.len() + 2).expect("short");
        [&[0xFF, marker][..], &len.to_be_bytes(), contents].concat()
    }

    /// A JPEG with every kind of metadata around a scan whose data is `pixels`, and a video
    /// appended after its end.
    fn camera_jpeg(pixels: &[u8]) -> Vec<u8> {
        [
            &[0xFF, 0xD8][..],
            &segment(APP0, b"JFIF\0\x01\x01"),
            &segment(0xE1, b"Exif\0\0GPS 59.91N 10.75E Pixel 9"),
            &segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<xmp>Oslo</xmp>"),
            &segment(APP2, b"ICC_PROFILE\0\x01\x01sRGB"),
            &segment(APP2, b"MPF\0second image"),
            &segment(0xED, b"Photoshop 3.0\0IPTC caption Sofie"),
            &segment(COM, b"taken at Storgata 5"),
            &segment(0xDB, &[0; 65]),
            &segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
            &segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
            pixels,
            &[0xFF, EOI],
            b"ftypmp42 motion photo with GPS",
        ]
        .concat()
    }

    #[test]
    fn a_jpeg_keeps_its_pixels_and_loses_every_metadata_segment_and_what_follows_it() {
        let pixels = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56];
        let out = strip("image/jpeg", Bytes::from(camera_jpeg(&pixels))).expect("clean");
        let text = String::from_utf8_lossy(&out);
        for gone in [
            "Exif", "GPS", "Pixel", "xmp", "Oslo", "MPF", "IPTC", "Sofie", "Storgata", "ftyp",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text:?}");
        }
        assert!(text.contains("JFIF") && text.contains("ICC_PROFILE"));
        assert!(
            out.windows(pixels.len()).any(|w| w == pixels),
            "pixels kept"
        );
        assert!(out.ends_with(&[0xFF, EOI]));
        // Cleaning a clean image changes nothing.
        assert_eq!(strip("image/jpeg", out.clone()).expect("again"), out);
    }

    #[test]
    fn a_png_loses_its_text_exif_and_time_chunks() {
        let mut png = Png::from_bytes(Bytes::from_static(&[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
            0x00, 0x90, 0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0xF8, 0x7A, 0x40, 0x0B, 0x00, 0x04, 0x8D, 0x01, 0xE0, 0x60, 0xCB, 0x68,
            0x38, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ]))
        .expect("png");
        for (kind, text) in [
            (*b"tEXt", &b"Location\0Storgata 5"[..]),
            (*b"iTXt", b"Author\0\0\0\0\0Sofie"),
            (*b"eXIf", b"MM\0*GPS"),
            (*b"tIME", b"\x07\xea\x0b\x1e\x17\x00\x00"),
        ] {
            png.chunks_mut()
                .insert(1, PngChunk::new(kind, Bytes::copy_from_slice(text)));
        }
        let dirty = png.encoder().bytes();
        assert!(String::from_utf8_lossy(&dirty).contains("Storgata"));
        let out = strip("image/png", dirty).expect("clean");
        let text = String::from_utf8_lossy(&out);
        for gone in ["tEXt", "Storgata", "iTXt", "Sofie", "eXIf", "GPS", "tIME"] {
            assert!(!text.contains(gone), "{gone} left");
        }
        assert!(text.contains("IHDR") && text.contains("IDAT") && text.contains("IEND"));
    }

    #[test]
    fn what_does_not_parse_as_its_type_is_refused() {
        for (mime, body) in [
            ("image/jpeg", &b"\xFF\xD8\xFF\xFE\x7F\x7Fshort"[..]),
            ("image/jpeg", b"\xFF\xD8\xFF\xD9"),
            ("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDRbadcrc"),
        ] {
            let r = strip(mime, Bytes::copy_from_slice(body));
            assert!(r.is_err(), "{mime} {body:?} was accepted");
        }
        // Other types pass through untouched.
        let pdf = Bytes::from_static(b"%PDF-1.4 Storgata");
        assert_eq!(strip("application/pdf", pdf.clone()).expect("pdf"), pdf);
    }
}
