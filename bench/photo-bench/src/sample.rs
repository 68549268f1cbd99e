//! The photo the upload figure is measured with, shared by `bench/photo-bench` and `tests/photos.rs`: 4000×3000
//! (a phone's 12 megapixels) with a photo's mix of gradients and fine detail, as a JPEG at the highest quality
//! (of 95, 90, ... 50) that stays within 4 MB.

use image::{DynamicImage, Rgb, RgbImage};

pub fn four_megabyte_jpeg() -> Vec<u8> {
    let picture = DynamicImage::ImageRgb8(RgbImage::from_fn(4000, 3000, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(x % 13) % 40;
        Rgb([
            ((x / 16 + noise) % 256) as u8,
            ((y / 12 + noise) % 256) as u8,
            ((x + y) / 28 % 256) as u8,
        ])
    }));
    (50..=95)
        .rev()
        .step_by(5)
        .map(|quality| {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .encode_image(&picture)
                .expect("encoded");
            out
        })
        .find(|jpeg| jpeg.len() <= 4_000_000)
        .expect("a quality within 4 MB")
}
