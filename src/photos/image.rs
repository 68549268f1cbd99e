//! A photo as sent, made safe to keep and to show: recognised by its bytes (JPEG, PNG or WebP, whatever its name
//! or declared type), its size read from the header and refused past a pixel count before anything is decoded (a
//! small file may declare a huge image), then decoded, turned upright and re-encoded as a JPEG of its pixels
//! alone: every metadata block (EXIF with its GPS position, XMP, comments, ICC profiles) stays behind. No I/O, and
//! nothing of the crate but this file: `bench/photo-bench` compiles it alone to time it.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// The form field (and the problem's field name) that carries the photo.
pub const PHOTO_FIELD: &str = "photo";
/// Largest photo accepted, as sent.
pub const MAX_PHOTO_BYTES: usize = 10 << 20;
/// Most pixels a photo may declare (a 40-megapixel camera's); checked before decoding.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest side of the image kept: a larger photo is halved until it fits (a 4000×3000 phone photo is kept at
/// 2000×1500). That shows a socket's scorch mark or an extinguisher's gauge plainly, and keeps a 12-megapixel
/// photo's processing within its time budget (docs/photos.md).
pub const MAX_STORED_SIDE_PX: u32 = 2048;
/// Longest side of the thumbnail.
pub const THUMBNAIL_SIDE_PX: u32 = 320;
/// The one format kept.
pub const STORED_CONTENT_TYPE: &str = "image/jpeg";
/// JPEG quality of the kept image and its thumbnail.
const JPEG_QUALITY: u8 = 85;
/// Memory a decoder may take (a 40-megapixel photo in 8-bit RGBA, with room to spare).
const MAX_DECODE_ALLOC_BYTES: u64 = 256 << 20;

/// A photo ready to store: a metadata-free JPEG and its thumbnail.
#[derive(Debug)]
pub struct Processed {
    pub image: Vec<u8>,
    pub thumbnail: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What is wrong with the bytes sent as a photo; each a 422 naming the field `photo` (`handlers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotAnImage,
    Corrupt,
    TooManyPixels,
}

/// The format the bytes begin with, by their magic numbers; nothing else is trusted.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Checks, decodes and re-encodes a photo (CPU-bound: run it off the async workers).
pub fn process(bytes: &[u8]) -> Result<Processed, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Missing);
    }
    let format = sniff(bytes).ok_or(Refusal::NotAnImage)?;
    if format == ImageFormat::Jpeg && !jpeg_is_whole(bytes) {
        return Err(Refusal::Corrupt);
    }
    let reader = || ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader().into_dimensions().map_err(|_| Refusal::Corrupt)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooManyPixels);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_DECODE_ALLOC_BYTES);
    let mut reader = reader();
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal_of)?;
    // The camera's orientation is metadata too: applied to the pixels, as it will not be kept.
    let orientation = decoder.orientation().map_err(refusal_of)?;
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(refusal_of)?;
    decoded.apply_orientation(orientation);
    let mut kept = decoded.to_rgb8();
    while kept.width().max(kept.height()) > MAX_STORED_SIDE_PX {
        kept = halve(&kept).ok_or(Refusal::Corrupt)?;
    }
    let kept = DynamicImage::ImageRgb8(kept);
    let thumbnail = kept.thumbnail(THUMBNAIL_SIDE_PX, THUMBNAIL_SIDE_PX);
    Ok(Processed {
        image: encode_jpeg(&kept)?,
        thumbnail: encode_jpeg(&thumbnail)?,
        width: kept.width(),
        height: kept.height(),
    })
}

/// The image at half its width and height, each pixel the mean of the four it replaces: a downscale by area in
/// one pass, several times faster than a filtered resize of a 12-megapixel photo.
fn halve(image: &RgbImage) -> Option<RgbImage> {
    let (width, height) = (image.width() / 2, image.height() / 2);
    let stride = image.width() as usize * 3;
    let source = image.as_raw();
    let mut halved = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as usize {
        let (upper, lower) = (2 * y * stride, (2 * y + 1) * stride);
        for x in 0..width as usize {
            for channel in 0..3 {
                let at = 6 * x + channel;
                let sum = u16::from(source[upper + at])
                    + u16::from(source[upper + at + 3])
                    + u16::from(source[lower + at])
                    + u16::from(source[lower + at + 3]);
                halved.push(((sum + 2) / 4) as u8);
            }
        }
    }
    RgbImage::from_raw(width, height, halved)
}

/// Whether a JPEG's last scan is followed by its end marker. The decoder fills a cut-off scan with grey rather than
/// fail, so a half-sent photo would otherwise be kept. (A scan's data cannot hold the marker: a 0xFF in it is
/// followed by 0x00. An embedded EXIF thumbnail has markers of its own, but comes before the main image's scan.)
fn jpeg_is_whole(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    matches!((last(0xDA), last(0xD9)), (Some(scan), Some(end)) if end > scan)
}

/// A decoder's error as the sender's problem: a limit is too many pixels, anything else a damaged file.
fn refusal_of(err: image::ImageError) -> Refusal {
    match err {
        image::ImageError::Limits(_) => Refusal::TooManyPixels,
        _ => Refusal::Corrupt,
    }
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|_| Refusal::Corrupt)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::new_rgb8(width, height)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn formats_are_known_by_their_bytes() {
        assert_eq!(sniff(&png(2, 2)), Some(ImageFormat::Png));
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
    }

    #[test]
    fn a_photo_becomes_a_jpeg_with_a_thumbnail() {
        let processed = process(&png(1000, 500)).unwrap();
        assert_eq!((processed.width, processed.height), (1000, 500));
        assert_eq!(sniff(&processed.image), Some(ImageFormat::Jpeg));
        let thumb = image::load_from_memory(&processed.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
    }

    #[test]
    fn a_large_photo_is_halved_until_it_fits() {
        let processed = process(&png(4100, 30)).unwrap();
        assert_eq!((processed.width, processed.height), (1025, 7));
        let processed = process(&png(2048, 30)).unwrap();
        assert_eq!((processed.width, processed.height), (2048, 30));
    }

    #[test]
    fn a_truncated_image_is_corrupt() {
        let whole = png(64, 64);
        assert_eq!(process(&whole[..whole.len() / 2]).unwrap_err(), Refusal::Corrupt);
        assert_eq!(process(b"").unwrap_err(), Refusal::Missing);
    }
}
