//! The pages people use, in a real browser (headless Chromium through chromedriver): they render, their stylesheet
//! loads under the Content-Security-Policy, and they fit a phone.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::Backend;
use common::JsonExt;
use common::browser::Browser;
use common::scene::{Scene, date};

/// The plaque's page on a 360 px phone: no horizontal scrolling, the stars and status as rated, the stylesheet
/// applied (the policy allows only it), and a screenshot for the documentation.
#[actix_web::test]
async fn the_public_page_fits_a_phone() {
    let Some(browser) = Browser::phone(360).await else {
        return;
    };
    let s = Scene::with(
        Backend::Sqlite,
        &[("ANZU_ASSOCIATION_CONTACT", "东湖村房东协会 0591-12345678")],
    )
    .await;
    s.inspect(&date(-2), &["MGT-01"]).await;
    let code = s.property.str("registration_code");
    browser.open(&format!("{}/r/{code}", s.app.address)).await;
    let read = browser
        .eval(
            "return {
                width: window.innerWidth,
                scrollWidth: document.documentElement.scrollWidth,
                stars: document.getElementById('stars').dataset.stars,
                lit: document.getElementById('stars').textContent.trim(),
                status: document.getElementById('status').textContent,
                contact: document.getElementById('contact').textContent,
                starSize: getComputedStyle(document.getElementById('stars')).fontSize,
                styled: document.styleSheets.length,
            };",
        )
        .await;
    assert_eq!(read["width"], 360, "{read}");
    assert!(
        read["scrollWidth"].as_u64().unwrap() <= 360,
        "the page scrolls sideways: {read}"
    );
    let expected_stars = s.property_now().await["stars"].to_string();
    assert_eq!(read["stars"], expected_stars.as_str(), "{read}");
    assert!(
        read.str("lit")
            .starts_with(&"★".repeat(expected_stars.parse().unwrap())),
        "{read}"
    );
    assert!(read.str("status").contains("已评级"), "{read}");
    assert!(read.str("contact").contains("0591-12345678"), "{read}");
    // 3.2rem: the stylesheet loaded and applied; without it the stars would be 16px.
    assert_eq!(read["starSize"], "51.2px", "{read}");
    assert_eq!(read["styled"], 1, "{read}");
    browser.save_screenshot("public-page-360.png").await;

    browser.open(&format!("{}/r/NOPE-000001", s.app.address)).await;
    let missing = browser
        .eval("return {title: document.querySelector('h1').textContent, scrollWidth: document.documentElement.scrollWidth};")
        .await;
    assert!(missing.str("title").contains("没有找到"), "{missing}");
    assert!(missing["scrollWidth"].as_u64().unwrap() <= 360, "{missing}");
    browser.close().await;
}

/// The printed plaque, drawn by the browser at photo size (200 px wide, its QR code about 120 px across, slightly
/// blurred), reads back as the page's address; a screenshot of it for the documentation.
#[actix_web::test]
async fn the_plaque_reads_back_from_a_photo() {
    let Some(browser) = Browser::phone(400).await else {
        return;
    };
    let s = Scene::new(Backend::Sqlite).await;
    s.inspect(&date(0), &[]).await;
    let code = s.property.str("registration_code");
    let plaque = format!("{}/public/v1/ratings/{code}/plaque.svg", s.app.address);
    // The plaque is same-origin with the page, so the canvas can be read.
    browser.open(&format!("{}/r/{code}", s.app.address)).await;
    let (width, height) = (200, 280);
    let drawn = browser
        .eval_async(&format!(
            "const img = new Image();
             const draw = (w, h, blur) => {{
               const canvas = document.createElement('canvas');
               canvas.width = w; canvas.height = h;
               const ctx = canvas.getContext('2d');
               ctx.filter = blur;
               ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
               ctx.drawImage(img, 0, 0, w, h);
               return canvas;
             }};
             img.onload = () => {{
               const photo = draw({width}, {height}, 'blur(0.6px)');
               const data = photo.getContext('2d').getImageData(0, 0, {width}, {height}).data;
               const grey = [];
               for (let i = 0; i < data.length; i += 4) grey.push(Math.round((data[i] + data[i + 1] + data[i + 2]) / 3));
               done({{grey, photo: photo.toDataURL('image/png'), print: draw(400, 560, 'none').toDataURL('image/png')}});
             }};
             img.onerror = () => done(null);
             img.src = '{plaque}';"
        ))
        .await;
    let grey: Vec<u8> = drawn["grey"]
        .as_array()
        .expect("the plaque drew")
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(grey.len(), width * height);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the plaque");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, format!("{}/r/{code}", s.app.state.settings.public_base_url));
    for (name, key) in [("plaque-photo-200px.png", "photo"), ("plaque.png", "print")] {
        common::browser::save_data_url(name, drawn.str(key));
    }
    browser.close().await;
}

/// Each role signs in through the console's form in a real browser and sees its start page, on a phone; the
/// auditor's numbers are the summary's; a sign-out form posted from another origin is refused.
#[actix_web::test]
async fn each_role_signs_in_and_sees_its_start_page() {
    let Some(browser) = Browser::phone(360).await else {
        return;
    };
    let s = Scene::new(Backend::Sqlite).await;
    s.inspect(&date(0), &["ESC-02"]).await;
    let summary = s
        .app
        .get(
            &format!("/api/v1/reports/summary?village_id={}", s.village_id),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    for (session, name, heading) in [
        (&s.landlord, "landlord", "我的出租房"),
        (&s.inspector, "inspector", "今日工作"),
        (&s.auditor, "auditor", "村情一览"),
        (&s.admin, "admin", "村情一览"),
    ] {
        browser.sign_in(&s.app.address, session.user.str("email")).await;
        let read = browser
            .eval(
                "return {heading: document.getElementById('heading').textContent,
                         scrollWidth: document.documentElement.scrollWidth,
                         properties: (document.getElementById('n-properties') || {}).textContent || null,
                         open: (document.getElementById('n-open') || {}).textContent || null};",
            )
            .await;
        assert!(read.str("heading").contains(heading), "{name}: {read}");
        assert!(
            read["scrollWidth"].as_u64().unwrap() <= 360,
            "{name} fits a phone: {read}"
        );
        if name == "auditor" {
            assert_eq!(
                read["properties"],
                summary["properties"]["total"].to_string().as_str(),
                "{read}"
            );
            assert_eq!(
                read["open"],
                summary["rectifications"]["open"].to_string().as_str(),
                "{read}"
            );
            // The chart's bars, read back from the drawn page: one per star level, each the summary's count, the
            // largest drawn longest, and the chart laid out on the screen.
            let chart = browser
                .eval(
                    "const svg = document.getElementById('chart-stars');
                     return {width: svg.getBoundingClientRect().width,
                             bars: Array.from(svg.querySelectorAll('rect')).map(r =>
                               [r.dataset.key, Number(r.dataset.count), Number(r.getAttribute('width'))])};",
                )
                .await;
            assert!(chart["width"].as_f64().unwrap() > 200.0, "{chart}");
            let weeks = browser
                .eval("return document.querySelectorAll('#chart-weeks g[data-week]').length;")
                .await;
            assert_eq!(weeks, 12, "twelve weeks of declarations");
            let bars = chart["bars"].as_array().unwrap();
            assert_eq!(bars.len(), 7, "5 to 0 stars and unrated: {chart}");
            let by_stars = &summary["properties"]["by_stars"];
            let largest = bars.iter().map(|b| b[1].as_i64().unwrap()).max().unwrap();
            assert!(largest > 0, "{chart}");
            for bar in bars {
                let key = bar[0].as_str().unwrap();
                assert_eq!(
                    bar[1].as_i64().unwrap(),
                    by_stars[key].as_i64().unwrap_or(0),
                    "{key}: {chart}"
                );
                assert_eq!(
                    bar[2].as_i64().unwrap(),
                    bar[1].as_i64().unwrap() * 180 / largest,
                    "{key}: {chart}"
                );
            }
        }
        browser.save_screenshot(&format!("console-{name}-360.png")).await;
        if name != "admin" {
            browser.click("#sign-out").await;
            assert!(browser.arrives_at("/console/login").await, "{name} signed out");
        }
    }
    // Signed in as the admin, a page of another origin (another port: the same site, so the cookie goes along)
    // posts the sign-out form without a token: refused.
    let forged = format!(
        "<!doctype html><form method='post' action='{}/console/logout'><button id='go'>go</button></form>",
        s.app.address
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere = format!("http://{}", listener.local_addr().unwrap());
    let server = actix_web::HttpServer::new(move || {
        let forged = forged.clone();
        actix_web::App::new().route(
            "/",
            actix_web::web::get().to(move || {
                let forged = forged.clone();
                async move { actix_web::HttpResponse::Ok().content_type("text/html").body(forged) }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    browser.open(&format!("{elsewhere}/")).await;
    browser.click("#go").await;
    assert!(browser.arrives_at("/console/logout").await, "the forged form was sent");
    let refused = browser.eval("return document.body.textContent;").await;
    assert!(refused.as_str().unwrap().contains("不允许"), "{refused}");
    browser.open(&format!("{}/console/", s.app.address)).await;
    assert!(browser.arrives_at("/console/").await, "still signed in");
    handle.stop(true).await;
    browser.close().await;
}

/// A landlord declares a tenant from a phone, in the browser: the page afterwards shows the tenant with the masked
/// number and nowhere the number typed.
#[actix_web::test]
async fn a_landlord_declares_a_tenant_and_sees_only_the_masked_number() {
    let Some(browser) = Browser::phone(360).await else {
        return;
    };
    let s = Scene::new(Backend::Sqlite).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "302", 24.0).await;
    let uid = unit.id();
    browser.sign_in(&s.app.address, s.landlord.user.str("email")).await;
    browser
        .click(&format!("li[data-code='{}'] a", s.property.str("registration_code")))
        .await;
    assert!(browser.arrives_at(&format!("/console/properties/{}", s.pid())).await);
    browser.click("#unit-302 summary").await;
    let number = common::resident_id("19920815", 21);
    browser.fill(&format!("#full_name-{uid}"), "陈小明").await;
    // A check character typed wrong: the server's answer appears beside the field as it is typed.
    let wrong = format!("{}{}", &number[..17], if number.ends_with('1') { '2' } else { '1' });
    browser.fill(&format!("#id_number-{uid}"), &wrong).await;
    let live = "#unit-302 [data-live=id_number]";
    let said = browser
        .wait_for(&format!("return document.querySelector('{live}').textContent;"))
        .await;
    assert!(said.is_some(), "the wrong number is named as it is typed");
    let name_said = browser
        .eval("return document.querySelector('#unit-302 [data-live=full_name]').textContent;")
        .await;
    assert_eq!(name_said, "", "the good name has no complaint");
    browser.clear(&format!("#id_number-{uid}")).await;
    browser.fill(&format!("#id_number-{uid}"), &number).await;
    let cleared = browser
        .wait_for(&format!(
            "const l = document.querySelector('{live}'); return l.dataset.ok === 'yes' ? 'ok' : null;"
        ))
        .await;
    assert!(cleared.is_some(), "the right number clears the complaint");
    browser.click("#unit-302 button.declare").await;
    assert!(browser.arrives_at("?done=declared").await, "declared");
    let page = browser
        .eval("return {text: document.body.innerText, html: document.documentElement.outerHTML, scrollWidth: document.documentElement.scrollWidth};")
        .await;
    let text = page.str("text");
    assert!(text.contains("陈小明") && text.contains("已申报入住"), "{text}");
    let masked = format!("{}*************{}", &number[..3], &number[16..]);
    assert!(text.contains(&masked), "{masked} in {text}");
    assert!(
        !page.str("html").contains(&number),
        "the typed number is nowhere on the page"
    );
    assert!(page["scrollWidth"].as_u64().unwrap() <= 360, "{}", page["scrollWidth"]);
    browser.save_screenshot("console-landlord-property-360.png").await;
    browser.close().await;
}

/// An inspector marks the checklist in the browser and submits it; the property's public page shows the new stars
/// at once (it showed "not yet rated" a moment before, and answers are otherwise cached for a minute).
#[actix_web::test]
async fn an_inspection_shows_on_the_public_page_at_once() {
    let Some(browser) = Browser::phone(360).await else {
        return;
    };
    let s = Scene::new(Backend::Sqlite).await;
    let code = s.property.str("registration_code");
    let public = format!("{}/r/{code}", s.app.address);
    browser.open(&public).await;
    let before = browser
        .eval("return document.getElementById('status').textContent;")
        .await;
    assert!(before.as_str().unwrap().contains("未评级"), "{before}");

    browser.sign_in(&s.app.address, s.inspector.user.str("email")).await;
    browser
        .open(&format!("{}/console/properties/{}/inspect", s.app.address, s.pid()))
        .await;
    let marked = browser
        .eval(
            "const radios = document.querySelectorAll('input[type=radio][value=pass]');
             radios.forEach(r => { r.checked = true; });
             return radios.length;",
        )
        .await;
    assert!(marked.as_u64().unwrap() >= 10, "{marked} items");
    // Marking an item by hand previews the rating by the server's rules: a failed critical item means no stars.
    browser.click("input[name='outcome.ESC-02'][value=fail]").await;
    let capped = browser
        .wait_for("const p = document.getElementById('preview'); return p.hidden || p.dataset.stars !== '0' ? null : p.dataset.score;")
        .await;
    assert!(
        capped.is_some_and(|score| score.as_str().unwrap().parse::<u32>().unwrap() < 100),
        "previewed"
    );
    browser.click("input[name='outcome.ESC-02'][value=pass]").await;
    let all_pass = browser
        .wait_for(
            "const p = document.getElementById('preview'); return p.dataset.stars === '5' ? p.dataset.score : null;",
        )
        .await;
    assert_eq!(
        all_pass,
        Some(serde_json::json!("100")),
        "all passed previews 100 points, five stars"
    );
    browser.click("#submit-inspection").await;
    assert!(browser.arrives_at("?done=inspected").await, "recorded");
    browser.save_screenshot("console-inspector-recorded-360.png").await;

    browser.open(&public).await;
    let after = browser
        .eval("return {stars: document.getElementById('stars').dataset.stars, status: document.getElementById('status').textContent};")
        .await;
    assert_eq!(after["stars"], "5", "{after}");
    assert!(after.str("status").contains("已评级"), "{after}");
    browser.close().await;
}

/// An auditor uploads a ledger file through the console's file input in the browser: the dry run's table names the
/// rejected line by its number and the reason, and nothing is written; importing the accepted lines then writes them.
#[actix_web::test]
async fn the_ledger_upload_shows_a_rejected_line() {
    let Some(browser) = Browser::phone(360).await else {
        return;
    };
    let s = Scene::new(Backend::Sqlite).await;
    let header = "房屋名称(property_name),地址(address),房屋类型(kind),楼层数(floors),建筑面积(floor_area_m2),房东姓名(owner_name),房东电话(owner_phone),房东邮箱(owner_email),单元(unit_label),所在楼层(unit_floor),单元面积(area_m2),单元类型(unit_kind)";
    let file = [
        header,
        "西楼,西路8号,apartment,3,240,林五,13700000008,lin@example.cn,201,2,18,room",
        "西楼,西路8号,apartment,3,240,林五,13700000008,lin@example.cn,202,2,-4,room",
    ]
    .join("\n");
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("台账.csv");
    std::fs::write(&path, format!("\u{feff}{file}\n")).unwrap();
    let properties = s.app.count("properties");

    browser.sign_in(&s.app.address, s.auditor.user.str("email")).await;
    browser.open(&format!("{}/console/ledger", s.app.address)).await;
    // chromedriver takes the path typed into a file input as the file chosen.
    browser.fill("#ledger-file", path.to_str().unwrap()).await;
    browser.click("#check").await;
    let mut read = serde_json::Value::Null;
    for _ in 0..50 {
        read = browser
            .eval(
                "const rows = document.querySelectorAll('#rejected tr[data-line]');
                 return rows.length === 0 ? null : {
                   rows: Array.from(rows).map(r => [r.querySelector('.line').textContent,
                                                    r.dataset.column, r.querySelector('.reason').textContent]),
                   accepted: document.getElementById('n-accepted').textContent,
                   scrollWidth: document.documentElement.scrollWidth};",
            )
            .await;
        if !read.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        read["rows"],
        serde_json::json!([["3", "area_m2", "must be more than 0 and at most 100,000"]]),
        "{read}"
    );
    assert_eq!(read["accepted"], "1", "{read}");
    assert!(read["scrollWidth"].as_u64().unwrap() <= 360, "fits a phone: {read}");
    assert_eq!(s.app.count("properties"), properties, "a dry run writes nothing");
    browser
        .eval("document.getElementById('rejected').scrollIntoView(); return null;")
        .await;
    browser.save_screenshot("console-auditor-ledger-360.png").await;

    // The file goes back in the confirmation form's hidden field as the browser sends it (line breaks as CRLF).
    browser.click("#import-partial").await;
    assert!(browser.arrives_at("?imported=1&properties=1&units=1&landlords=1").await);
    let notice = browser
        .eval("return document.getElementById('imported').dataset.accepted;")
        .await;
    assert_eq!(notice, "1");
    assert_eq!(s.app.count("properties"), properties + 1);
    browser.close().await;
}
