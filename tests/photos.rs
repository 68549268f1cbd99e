//! Photo evidence: inspectors' photos of failed items, owners' photos of the fix, who sees them, and every bad
//! upload refused with nothing kept. The images are made here with the `image` crate.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../bench/photo-bench/src/sample.rs"]
mod sample;

use std::io::Cursor;

use common::scene::{Scene, date};
use common::{Answer, Backend, JsonExt, TestApp, file_form, small_jpeg};
use futures_util::future::join_all;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::Value;

/// An image with some detail (a gradient), so that it encodes like a photo rather than a flat field.
fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    }))
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(&picture(width, height), ImageFormat::Jpeg)
}

/// A latitude no other bytes of a photo would hold by chance: 22°32'12.34" as three rationals.
const GPS_LATITUDE: [u32; 6] = [22, 1, 32, 1, 1234, 100];

/// A JPEG with an APP1 Exif segment right after its start: a big-endian TIFF whose first IFD points (tag 0x8825)
/// to a GPS IFD holding GPSLatitudeRef `N` and GPSLatitude.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: one entry, GPSInfo -> the GPS IFD at 26.
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 26]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // The GPS IFD at 26: two entries (2 + 24 + 4 bytes), the latitude's rationals after it, at 56.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0x00, 0x02, 0x00, 0x05, 0, 0, 0, 3, 0, 0, 0, 56]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 56);
    for n in GPS_LATITUDE {
        tiff.extend_from_slice(&n.to_be_bytes());
    }
    let mut segment = b"Exif\x00\x00".to_vec();
    segment.extend_from_slice(&tiff);
    let plain = jpeg(width, height);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&plain[2..]);
    out
}

fn gps_bytes() -> Vec<u8> {
    GPS_LATITUDE.iter().flat_map(|n| n.to_be_bytes()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A decompression bomb: a valid small PNG whose header declares `side`×`side` pixels.
fn png_declaring(side: u32) -> Vec<u8> {
    let mut png = encoded(&picture(8, 8), ImageFormat::Png);
    // The IHDR chunk's data starts at 16 (8 signature, 4 length, 4 type); its CRC covers type and data.
    png[16..20].copy_from_slice(&side.to_be_bytes());
    png[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

async fn upload(app: &TestApp, token: &str, path: &str, bytes: &[u8]) -> Answer {
    app.upload_photo(Some(token), path, ("photo.jpg", "image/jpeg"), bytes)
        .await
}

/// A scene whose block was inspected today with `MGT-01` (minor) failing: the inspection.
async fn failed_inspection(s: &Scene) -> Value {
    s.inspect(&date(0), &["MGT-01"]).await
}

fn item_path(inspection: &Value, code: &str) -> String {
    format!("/api/v1/inspections/{}/items/{code}/photos", inspection.id())
}

fn order_path(inspection: &Value) -> String {
    format!("/api/v1/rectifications/{}/photos", inspection["rectifications"][0].id())
}

fn photos_kept(app: &TestApp) -> (i64, i64) {
    (app.count("photos"), app.count("photo_blobs"))
}

/// An inspector's photo of a failed item is kept as a metadata-free JPEG with a thumbnail, listed with the
/// inspection, and served to the owner privately; PNG and WebP are taken too.
async fn an_inspector_photographs_a_failed_item(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let path = item_path(&inspection, "MGT-01");
    let png = encoded(&picture(1000, 600), ImageFormat::Png);
    let photo = s
        .app
        .upload_photo(
            Some(&s.inspector.token),
            &path,
            ("x.bin", "application/octet-stream"),
            &png,
        )
        .await
        .expect(201)
        .body;
    assert_eq!(photo["kind"], "deficiency");
    assert_eq!(photo["item_code"], "MGT-01");
    assert_eq!(photo["content_type"], "image/jpeg");
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(1000), Some(600))
    );
    assert!(photo["rectification_id"].is_null());
    let webp = encoded(&picture(300, 200), ImageFormat::WebP);
    upload(&s.app, &s.auditor.token, &path, &webp).await.expect(201);

    let listed = s
        .app
        .get(
            &format!("/api/v1/inspections/{}/photos", inspection.id()),
            Some(&s.landlord.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed.array("items").len(), 2);
    assert_eq!(listed["items"][0]["id"], photo["id"]);

    let served = s
        .app
        .get(&format!("/api/v1/photos/{}", photo.id()), Some(&s.landlord.token))
        .await
        .expect(200);
    assert_eq!(served.header("content-type").as_deref(), Some("image/jpeg"));
    assert!(
        served.header("cache-control").unwrap().starts_with("private"),
        "{:?}",
        served.headers
    );
    let image = image::load_from_memory_with_format(&served.bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!((image.width(), image.height()), (1000, 600));
    assert_eq!(served.bytes.len() as i64, photo["byte_size"].as_i64().unwrap());
    let thumbnail = s
        .app
        .get(
            &format!("/api/v1/photos/{}/thumbnail", photo.id()),
            Some(&s.inspector.token),
        )
        .await
        .expect(200);
    assert_eq!(thumbnail.header("content-type").as_deref(), Some("image/jpeg"));
    let small = image::load_from_memory_with_format(&thumbnail.bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!((small.width(), small.height()), (320, 192));
    let events = s
        .app
        .get(
            &format!("/api/v1/audit-events?entity_type=photo&entity_id={}", photo.id()),
            Some(&s.admin.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(events["items"][0]["action"], "photo.attached");
    assert_eq!(photos_kept(&s.app), (2, 2));
}

/// A phone's photo carries where it was taken; the kept photo holds no Exif segment and none of its bytes.
async fn the_gps_position_is_not_kept(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let sent = jpeg_with_gps(640, 480);
    assert!(contains(&sent, b"Exif\0\0") && contains(&sent, &gps_bytes()));
    let photo = upload(&s.app, &s.inspector.token, &item_path(&inspection, "MGT-01"), &sent)
        .await
        .expect(201)
        .body;
    for rendering in ["", "/thumbnail"] {
        let served = s
            .app
            .get(
                &format!("/api/v1/photos/{}{rendering}", photo.id()),
                Some(&s.inspector.token),
            )
            .await
            .expect(200);
        assert!(!contains(&served.bytes, b"Exif"), "an Exif segment was kept");
        assert!(!contains(&served.bytes, &[0xFF, 0xE1]), "an APP1 segment was kept");
        assert!(!contains(&served.bytes, &gps_bytes()), "the GPS position was kept");
        image::load_from_memory_with_format(&served.bytes, ImageFormat::Jpeg).unwrap();
    }
}

/// The owner adds photos of the fix while the order is open or reported, not once it is settled; the verifier
/// sees the failed item's photos first, then the fix's.
async fn the_owner_shows_the_fix_and_the_verifier_sees_both(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let order = inspection["rectifications"][0].clone();
    let before = upload(
        &s.app,
        &s.inspector.token,
        &item_path(&inspection, "MGT-01"),
        &jpeg(64, 48),
    )
    .await
    .expect(201)
    .body;
    let after = upload(&s.app, &s.landlord.token, &order_path(&inspection), &jpeg(64, 48))
        .await
        .expect(201)
        .body;
    assert_eq!(after["kind"], "after");
    assert_eq!(after["rectification_id"], order["id"]);
    assert_eq!(after["item_code"], "MGT-01");
    s.app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/report", order.id()),
            Some(&s.landlord.token),
            &[],
            Some(&serde_json::json!({"note": "已修好"})),
        )
        .await
        .expect(200);
    let reported = upload(&s.app, &s.landlord.token, &order_path(&inspection), &jpeg(32, 32))
        .await
        .expect(201)
        .body;
    let evidence = s
        .app
        .get(&order_path(&inspection), Some(&s.inspector.token))
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = evidence.array("items").iter().map(|p| p.id()).collect();
    assert_eq!(ids, [before.id(), after.id(), reported.id()]);
    s.app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/verify", order.id()),
            Some(&s.inspector.token),
            &[],
            Some(&serde_json::json!({"resolved": true, "note": "核实"})),
        )
        .await
        .expect(200);
    let settled = upload(&s.app, &s.landlord.token, &order_path(&inspection), &jpeg(32, 32)).await;
    assert!(settled.problem(409)["detail"].as_str().unwrap().contains("photo"));
    assert_eq!(photos_kept(&s.app), (3, 3));
}

/// Each bad upload is a 4xx naming the field `photo`, and nothing of it is kept.
async fn bad_photos_are_refused_and_nothing_is_kept(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let path = item_path(&inspection, "MGT-01");
    let token = &s.inspector.token;
    let whole = jpeg(200, 200);
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    elf.resize(4096, 0x90);
    let mut pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    pe.resize(4096, 0);
    let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0];
    garbage.extend(std::iter::repeat_n(0x5A, 2000));
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("a truncated JPEG", whole[..whole.len() / 3].to_vec(), "corrupt"),
        ("bytes behind a JPEG's magic number", garbage, "corrupt"),
        ("a renamed ELF executable", elf, "format"),
        ("a renamed Windows executable", pe, "format"),
        (
            "a PNG declaring 100000×100000 pixels",
            png_declaring(100_000),
            "dimensions",
        ),
        ("an empty file", Vec::new(), "required"),
    ];
    for (what, bytes, code) in cases {
        let problem = upload(&s.app, token, &path, &bytes).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], "photo", "{what}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{what}: {problem}");
    }
    // No field named `photo`, or not a form at all.
    let (content_type, body) = file_form("picture", "a.jpg", "image/jpeg", &whole);
    let unnamed = s.app.send_raw("POST", &path, Some(token), &content_type, body).await;
    assert_eq!(unnamed.problem(422)["errors"][0]["field"], "photo");
    s.app
        .send_raw("POST", &path, Some(token), "image/jpeg", whole.clone())
        .await
        .problem(415);
    // Larger than 10 MiB (read up to the limit), and a 50 MB body (refused by its declared length).
    let mut eleven_mb = whole.clone();
    eleven_mb.resize(11 << 20, 0);
    upload(&s.app, token, &path, &eleven_mb).await.problem(413);
    assert_eq!(declared_fifty_megabytes(&s.app, token, &path).await, 413);
    // An item that passed, one the inspection does not have.
    upload(&s.app, token, &item_path(&inspection, "MGT-02"), &whole)
        .await
        .problem(409);
    upload(&s.app, token, &item_path(&inspection, "NOPE-99"), &whole)
        .await
        .problem(404);
    assert_eq!(photos_kept(&s.app), (0, 0));

    // Eight photos per item; the ninth is refused.
    for _ in 0..8 {
        upload(&s.app, token, &path, &jpeg(16, 16)).await.expect(201);
    }
    let ninth = upload(&s.app, token, &path, &jpeg(16, 16)).await.problem(422);
    assert_eq!(ninth["errors"][0]["code"], "too_many");
    assert_eq!(photos_kept(&s.app), (8, 8));
}

/// Sends the head of a 50 MB upload and a first chunk; the status line of the answer.
async fn declared_fifty_megabytes(app: &TestApp, token: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let address = app.address.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        50_000_000
    );
    actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(&vec![b'x'; 64 << 10]);
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).unwrap();
        std::str::from_utf8(&answer[9..12]).unwrap().parse().unwrap()
    })
    .await
    .unwrap()
}

/// Photos are for those who may see the inspection or order: another landlord and another village get 404; the
/// owner does not photograph an inspection's item, nor an inspector the owner's fix.
async fn photos_stay_within_scope(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let photo = upload(
        &s.app,
        &s.inspector.token,
        &item_path(&inspection, "MGT-01"),
        &jpeg(32, 32),
    )
    .await
    .expect(201)
    .body;
    let stranger = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let far_village = s.app.village(&s.admin).await;
    let far_inspector = s.app.user(&s.admin, "inspector", far_village["id"].as_str()).await;
    for outsider in [&stranger, &far_inspector] {
        for path in [
            format!("/api/v1/photos/{}", photo.id()),
            format!("/api/v1/photos/{}/thumbnail", photo.id()),
            format!("/api/v1/inspections/{}/photos", inspection.id()),
            order_path(&inspection),
        ] {
            s.app.get(&path, Some(&outsider.token)).await.problem(404);
        }
        upload(&s.app, &outsider.token, &item_path(&inspection, "MGT-01"), &jpeg(8, 8))
            .await
            .problem(404);
        upload(&s.app, &outsider.token, &order_path(&inspection), &jpeg(8, 8))
            .await
            .problem(404);
    }
    upload(
        &s.app,
        &s.landlord.token,
        &item_path(&inspection, "MGT-01"),
        &jpeg(8, 8),
    )
    .await
    .problem(403);
    upload(&s.app, &s.inspector.token, &order_path(&inspection), &jpeg(8, 8))
        .await
        .problem(403);
    s.app
        .get(&format!("/api/v1/photos/{}", photo.id()), None)
        .await
        .problem(401);
    assert_eq!(photos_kept(&s.app), (1, 1));
}

/// An upload larger than a JSON body may carry an `Idempotency-Key`: the retry answers the first photo again
/// and keeps nothing twice.
async fn an_upload_with_a_key_is_kept_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let noisy = DynamicImage::ImageRgb8(RgbImage::from_fn(900, 900, |x, y| {
        let n = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
        Rgb([n as u8, (n >> 8) as u8, (n >> 16) as u8])
    }));
    let big = encoded(&noisy, ImageFormat::Png);
    assert!(big.len() > 1 << 20, "{}", big.len());
    let (content_type, body) = file_form("photo", "big.png", "image/png", &big);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut answer = s
            .app
            .client
            .post(s.app.url(&item_path(&inspection, "MGT-01")))
            .insert_header(("Authorization", format!("Bearer {}", s.inspector.token)))
            .insert_header(("Content-Type", content_type.as_str()))
            .insert_header(("Idempotency-Key", "photo-1"))
            .send_body(body.clone())
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let photo: Value = serde_json::from_slice(&answer.body().await.unwrap()).unwrap();
        ids.push(photo.id().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(photos_kept(&s.app), (1, 1));
}

/// Uploads racing for an item's last places: each is counted under the item's lock, so exactly as many land
/// as there is room for, and the rest are refused naming the field.
async fn uploads_at_once_keep_the_limit(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = failed_inspection(&s).await;
    let path = item_path(&inspection, "MGT-01");
    for n in 0..6 {
        upload(&s.app, &s.inspector.token, &path, &small_jpeg(200 + n, 150))
            .await
            .expect(201);
    }
    let pictures: Vec<Vec<u8>> = (0..3).map(|n| small_jpeg(1200 + n, 900)).collect();
    let racing = pictures
        .iter()
        .map(|bytes| upload(&s.app, &s.inspector.token, &path, bytes));
    let mut statuses: Vec<u16> = join_all(racing).await.into_iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 201, 422]);
    assert_eq!(photos_kept(&s.app), (8, 8));
    let refused = upload(&s.app, &s.inspector.token, &path, &pictures[0]).await;
    assert_eq!(refused.error_fields(), vec!["photo"]);
}

backend_tests!(
    uploads_at_once_keep_the_limit,
    an_inspector_photographs_a_failed_item,
    the_gps_position_is_not_kept,
    the_owner_shows_the_fix_and_the_verifier_sees_both,
    bad_photos_are_refused_and_nothing_is_kept,
    photos_stay_within_scope,
    an_upload_with_a_key_is_kept_once,
);

/// The figure of docs/performance.md: a 4 MB phone-sized JPEG (4000×3000) uploaded, decoded, re-encoded with its
/// thumbnail and stored, timed end to end over HTTP. Run it alone: `cargo test --test photos upload_time --
/// --ignored --nocapture` (with `ANZU_TEST_POSTGRES_URL` for PostgreSQL too).
async fn upload_time(backend: Backend) {
    const UPLOADS: usize = 10;
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &["MGT-01", "MGT-02"]).await;
    let sent = sample::four_megabyte_jpeg();
    assert!(sent.len() > 3_000_000, "{}", sent.len());
    let started = std::time::Instant::now();
    anzu::photos::image::process(&sent).unwrap();
    let in_process = started.elapsed();
    let mut times = Vec::new();
    for n in 0..UPLOADS {
        let path = item_path(&inspection, if n % 2 == 0 { "MGT-01" } else { "MGT-02" });
        let started = std::time::Instant::now();
        upload(&s.app, &s.inspector.token, &path, &sent).await.expect(201);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "{backend:?}: a {:.1} MB JPEG, 4000x3000: processing alone {in_process:?}; upload (HTTP, multipart, \
         processing, store) median {:?}, fastest {:?}, slowest {:?} of {UPLOADS}",
        sent.len() as f64 / 1e6,
        times[UPLOADS / 2],
        times[0],
        times[UPLOADS - 1]
    );
}

mod timing {
    #[actix_web::test]
    #[ignore = "a measurement for docs/performance.md, not a check"]
    async fn upload_time_sqlite() {
        super::upload_time(anzu::db::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[ignore = "a measurement for docs/performance.md, not a check"]
    async fn upload_time_postgres() {
        if crate::common::postgres_url().is_some() {
            super::upload_time(anzu::db::Backend::Postgres).await
        }
    }
}
