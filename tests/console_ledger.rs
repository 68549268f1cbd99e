//! The ledger in the web console over plain HTTP, on both databases: the download is the API's export, an upload is
//! a dry run that names each rejected line and writes nothing, the confirmation imports under the same rules; only
//! auditors (their own village) and admins reach it, and forged or bad uploads import nothing.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::Scene;
use common::visitor::{Page, Visitor, csrf_of};
use common::{Backend, JsonExt, PASSWORD, Session};

const HEADER: &str = "房屋名称(property_name),地址(address),房屋类型(kind),楼层数(floors),建筑面积(floor_area_m2),房东姓名(owner_name),房东电话(owner_phone),房东邮箱(owner_email),单元(unit_label),所在楼层(unit_floor),单元面积(area_m2),单元类型(unit_kind)";
/// A line the import takes: a new property, its unit and a new landlord.
const GOOD: &str = "西楼,西路8号,apartment,3,240,林五,13700000008,lin@example.cn,201,2,18,room";
/// A line the import rejects: a negative area.
const BAD: &str = "西楼,西路8号,apartment,3,240,林五,13700000008,lin@example.cn,202,2,-4,room";
const AREA_REASON: &str = "must be more than 0 and at most 100,000";

fn ledger(lines: &[&str]) -> String {
    let mut text = vec![HEADER];
    text.extend_from_slice(lines);
    text.join("\n") + "\n"
}

/// A visitor signed in as `session`.
async fn signed_in(s: &Scene, session: &Session) -> Visitor {
    let visitor = Visitor::new(&s.app);
    let answer = visitor.sign_in(session.user.str("email"), PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    visitor
}

/// Opens the ledger page and uploads `file` through its form, with the page's token.
async fn upload(visitor: &Visitor, village_id: Option<&str>, file: &[u8]) -> Page {
    let page = visitor.get("/console/ledger").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_of(&page.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(village_id.map(|v| ("village_id", v)));
    visitor
        .post_multipart("/console/ledger", &fields, Some(("ledger", "ledger.csv", file)), &[])
        .await
}

/// The rejected lines a page lists: (line, column, reason).
fn rejected(html: &str) -> Vec<(u64, String, String)> {
    let row =
        regex::Regex::new(r#"(?s)<tr data-line="(\d+)" data-column="([^"]+)">.*?<td class="reason">([^<]*)</td>"#)
            .unwrap();
    row.captures_iter(html)
        .map(|c| (c[1].parse().unwrap(), c[2].to_owned(), unescape(&c[3])))
        .collect()
}

/// The number a page shows in the element with this id.
fn number(html: &str, id: &str) -> u64 {
    let found = regex::Regex::new(&format!(r#"id="{id}"[^>]*>(\d+)<"#))
        .unwrap()
        .captures(html)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    found[1].parse().unwrap()
}

/// A hidden field's value in the confirmation form, as the browser would send it back.
fn hidden(html: &str, name: &str) -> Option<String> {
    let form = &html[html.find(r#"id="confirm""#)?..];
    let field = regex::Regex::new(&format!(r#"(?s)name="{name}" value="([^"]*)""#)).unwrap();
    field.captures(form).map(|c| unescape(&c[1]))
}

/// Undoes the page's HTML escaping.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Sends the confirmation form of a dry-run page back, as its button `partial` (or the plain import) would.
async fn confirm(visitor: &Visitor, dry_run: &Page, partial: bool) -> Page {
    let csrf = csrf_of(&dry_run.body);
    let text = hidden(&dry_run.body, "ledger").expect("a confirmation form");
    let village = hidden(&dry_run.body, "village_id");
    let mut fields = vec![("csrf", csrf.as_str()), ("ledger", text.as_str())];
    fields.extend(village.as_deref().map(|v| ("village_id", v)));
    if partial {
        fields.push(("partial", "true"));
    }
    visitor
        .post_multipart("/console/ledger/confirm", &fields, None, &[])
        .await
}

/// What an import would change: properties, units, users.
fn counts(s: &Scene) -> (i64, i64, i64) {
    (s.app.count("properties"), s.app.count("units"), s.app.count("users"))
}

async fn the_download_is_the_apis_export(backend: Backend) {
    let s = Scene::new(backend).await;
    s.app.unit(&s.landlord, s.pid(), "101", 20.0).await;
    let api = s
        .app
        .get(
            &format!("/api/v1/reports/ledger.csv?village_id={}", s.village_id),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .text();

    let auditor = signed_in(&s, &s.auditor).await;
    let page = auditor.get("/console/ledger").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"aria-current="page">台账"#),
        "the menu marks the ledger"
    );
    assert!(page.body.contains(r#"id="download" href="/console/ledger.csv""#));
    assert!(page.body.contains(r#"enctype="multipart/form-data""#));
    assert!(
        !page.body.contains("<select"),
        "an auditor imports into their own village"
    );
    let csv = auditor.get("/console/ledger.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains(s.code()) && csv.body.contains(",101,"),
        "{}",
        csv.body
    );
    assert_eq!(csv.body, api, "the API's export");

    // An admin chooses the village; with none, the whole town.
    let admin = signed_in(&s, &s.admin).await;
    let page = admin.get("/console/ledger").await;
    assert!(
        page.body.contains(&format!(r#"<option value="{}""#, s.village_id)),
        "{}",
        page.body
    );
    let chosen = admin
        .get(&format!("/console/ledger.csv?village_id={}", s.village_id))
        .await;
    assert_eq!((chosen.status, chosen.body.as_str()), (200, api.as_str()));
    let town = admin.get("/console/ledger.csv?village_id=").await;
    assert!(town.status == 200 && town.body.contains(s.code()));
}

async fn a_dry_run_names_the_rejected_line_and_the_confirmation_imports(backend: Backend) {
    let s = Scene::new(backend).await;
    let auditor = signed_in(&s, &s.auditor).await;
    let before = counts(&s);
    let file = ledger(&[GOOD, BAD]);
    let dry_run = upload(&auditor, None, file.as_bytes()).await;
    assert_eq!(dry_run.status, 200, "{}", dry_run.body);
    assert_eq!(
        rejected(&dry_run.body),
        vec![(3, "area_m2".to_owned(), AREA_REASON.to_owned())]
    );
    assert!(dry_run.body.contains(r#"<td class="line">3</td>"#));
    assert_eq!(
        [
            number(&dry_run.body, "n-accepted"),
            number(&dry_run.body, "n-rejected"),
            number(&dry_run.body, "n-new-properties"),
            number(&dry_run.body, "n-new-units"),
            number(&dry_run.body, "n-new-landlords"),
        ],
        [1, 1, 1, 1, 1]
    );
    assert_eq!(counts(&s), before, "a dry run writes nothing");
    assert!(dry_run.body.contains(r#"id="import-partial""#) && !dry_run.body.contains(r#"id="import""#));
    assert_eq!(
        hidden(&dry_run.body, "ledger").unwrap(),
        file,
        "the form carries the file back"
    );

    // The whole file, rejected line and all: nothing written, the report again.
    let whole = confirm(&auditor, &dry_run, false).await;
    assert_eq!(whole.status, 422);
    assert!(whole.body.contains(r#"id="error""#) && whole.body.contains("没有导入"));
    assert_eq!(rejected(&whole.body).len(), 1);
    assert_eq!(counts(&s), before);

    let partial = confirm(&auditor, &dry_run, true).await;
    assert_eq!(
        (partial.status, partial.location.as_deref()),
        (303, Some("/console/ledger?imported=1&properties=1&units=1&landlords=1"))
    );
    let done = auditor.get(partial.location.as_deref().unwrap()).await;
    assert!(
        done.body.contains(r#"id="imported" role="status" data-accepted="1""#),
        "{}",
        done.body
    );
    assert_eq!(counts(&s), (before.0 + 1, before.1 + 1, before.2 + 1));
    let listed = s
        .app
        .get(
            &format!(
                "/api/v1/properties?village_id={}&q={}",
                s.village_id,
                common::encode("西楼")
            ),
            Some(&s.auditor.token),
        )
        .await
        .expect(200)
        .body;
    let found = listed.array("items");
    assert_eq!(found.len(), 1, "{listed}");
    assert_eq!((found[0].str("name"), found[0].str("address")), ("西楼", "西路8号"));

    // A clean file offers the plain import; an admin names the village.
    let admin = signed_in(&s, &s.admin).await;
    let clean = ledger(&["东楼,东路2号,apartment,2,120,林五,13700000008,lin@example.cn,101,1,20,room"]);
    let dry_run = upload(&admin, Some(&s.village_id), clean.as_bytes()).await;
    assert!(rejected(&dry_run.body).is_empty() && dry_run.body.contains(r#"id="import""#));
    assert!(
        dry_run
            .body
            .contains(&format!(r#"<option value="{}" selected>"#, s.village_id))
    );
    let imported = confirm(&admin, &dry_run, false).await;
    assert_eq!(
        imported.location.as_deref(),
        Some("/console/ledger?imported=1&properties=1&units=1&landlords=0"),
        "the landlord of the line before"
    );
}

async fn only_auditors_of_the_village_and_admins_reach_the_ledger(backend: Backend) {
    let s = Scene::new(backend).await;
    let far = s.app.village(&s.admin).await;
    let far_auditor = s.app.user(&s.admin, "auditor", far["id"].as_str()).await;
    let file = ledger(&[GOOD]);
    let before = counts(&s);

    let nobody = Visitor::new(&s.app);
    for page in [
        nobody.get("/console/ledger").await,
        nobody.get("/console/ledger.csv").await,
        nobody
            .post_multipart("/console/ledger", &[], Some(("ledger", "l.csv", file.as_bytes())), &[])
            .await,
        nobody
            .post_multipart("/console/ledger/confirm", &[("ledger", file.as_str())], None, &[])
            .await,
    ] {
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/login")));
    }

    for session in [&s.landlord, &s.inspector] {
        let visitor = signed_in(&s, session).await;
        let csrf = csrf_of(&visitor.get("/console/").await.body);
        assert_eq!(visitor.get("/console/ledger").await.status, 403);
        assert_eq!(visitor.get("/console/ledger.csv").await.status, 403);
        for path in ["/console/ledger", "/console/ledger/confirm"] {
            let refused = visitor
                .post_multipart(
                    path,
                    &[("csrf", &csrf), ("partial", "true")],
                    Some(("ledger", "l.csv", file.as_bytes())),
                    &[],
                )
                .await;
            assert_eq!(refused.status, 403, "{path}");
            assert!(refused.body.contains("没有这项权限"), "{}", refused.body);
        }
    }

    // An auditor of another village sees their own, and finds no other.
    let visitor = signed_in(&s, &far_auditor).await;
    let own = visitor.get("/console/ledger").await;
    assert!(own.body.contains(far.str("name")) && !own.body.contains(&s.village_id));
    let other = format!("/console/ledger.csv?village_id={}", s.village_id);
    assert_eq!(visitor.get(&other).await.status, 404);
    assert_eq!(upload(&visitor, Some(&s.village_id), file.as_bytes()).await.status, 404);
    let csrf = csrf_of(&own.body);
    let confirmed = visitor
        .post_multipart(
            "/console/ledger/confirm",
            &[
                ("csrf", &csrf),
                ("village_id", &s.village_id),
                ("ledger", &file),
                ("partial", "true"),
            ],
            None,
            &[],
        )
        .await;
    assert_eq!(confirmed.status, 404);
    assert_eq!(counts(&s), before, "nothing imported");
}

async fn forged_ledger_forms_import_nothing(backend: Backend) {
    let s = Scene::new(backend).await;
    let auditor = signed_in(&s, &s.auditor).await;
    let csrf = csrf_of(&auditor.get("/console/ledger").await.body);
    let file = ledger(&[GOOD]);
    let before = counts(&s);
    for path in ["/console/ledger", "/console/ledger/confirm"] {
        for (fields, origin) in [
            (vec![], None),
            (vec![("csrf", "forged")], None),
            (vec![("csrf", csrf.as_str())], Some("http://evil.example")),
        ] {
            let mut fields = fields;
            fields.push(("partial", "true"));
            let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
            let refused = auditor
                .post_multipart(path, &fields, Some(("ledger", "l.csv", file.as_bytes())), &headers)
                .await;
            assert_eq!(refused.status, 403, "{path} {fields:?} {headers:?}");
            assert!(refused.body.contains("不允许"));
        }
        // Not a multipart form at all.
        let plain = auditor
            .post(path, &[("csrf", csrf.as_str()), ("ledger", file.as_str())], &[])
            .await;
        assert_eq!(plain.status, 403, "{path}");
    }
    assert_eq!(counts(&s), before, "nothing imported");
    // The same form from the console's own page imports.
    let sent = auditor
        .post_multipart(
            "/console/ledger/confirm",
            &[("csrf", &csrf), ("ledger", &file)],
            None,
            &[],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(counts(&s).0, before.0 + 1);
}

async fn a_bad_file_is_named_on_the_page(backend: Backend) {
    let s = Scene::new(backend).await;
    let auditor = signed_in(&s, &s.auditor).await;
    let before = counts(&s);
    // The ledger saved by a spreadsheet in GBK (房屋名称 ...), a binary file, an empty one, and one past 32 MiB.
    let gbk: &[u8] = b"\xb7\xbf\xce\xdd\xc3\xfb\xb3\xc6,\xb5\xd8\xd6\xb7\n\xce\xf7\xc2\xa5,\xce\xf7\xc2\xb7\n";
    let binary: &[u8] = b"PK\x03\x04\x14\x00\x00\x00\x08\x00";
    let too_large = vec![b'x'; (32 << 20) + 1];
    for (file, status, words) in [
        (gbk, 422, "CSV UTF-8"),
        (binary, 422, "不是 UTF-8 编码的 CSV 文件"),
        (&b""[..], 422, "文件是空的"),
        (&b"\xef\xbb\xbf\r\n"[..], 422, "文件是空的"),
        (too_large.as_slice(), 413, "文件太大"),
    ] {
        let page = upload(&auditor, None, file).await;
        assert_eq!(page.status, status, "{}", page.body);
        assert!(
            page.body.contains(r#"id="error" role="alert""#) && page.body.contains(words),
            "{words}: {}",
            page.body
        );
        assert!(page.body.contains(r#"id="upload""#), "the form again");
        assert!(!page.body.contains(r#"id="report""#));
    }
    // No file part at all.
    let csrf = csrf_of(&auditor.get("/console/ledger").await.body);
    let none = auditor
        .post_multipart("/console/ledger", &[("csrf", &csrf)], None, &[])
        .await;
    assert_eq!(none.status, 422);
    // An upload that breaks off in the middle of the file (no closing boundary).
    let cut = format!(
        "--b0\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --b0\r\nContent-Disposition: form-data; name=\"ledger\"; filename=\"l.csv\"\r\n\r\n{}",
        ledger(&[GOOD])
    );
    let mut response = auditor
        .client
        .post(format!("{}/console/ledger", auditor.base))
        .insert_header(("Cookie", auditor.cookie_header()))
        .insert_header(("Content-Type", "multipart/form-data; boundary=b0"))
        .send_body(cut)
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let page = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    assert!(page.contains("上传没有完整到达"), "{page}");
    assert_eq!(counts(&s), before);
}

backend_tests!(
    the_download_is_the_apis_export,
    a_dry_run_names_the_rejected_line_and_the_confirmation_imports,
    only_auditors_of_the_village_and_admins_reach_the_ledger,
    forged_ledger_forms_import_nothing,
    a_bad_file_is_named_on_the_page,
);
