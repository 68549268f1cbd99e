//! `anzu backup PATH`: a consistent copy of a live SQLite database (issue 17, part 5).
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Backend, JsonExt, resident_id};
use diesel::prelude::*;

/// A backup taken while declarations keep arriving holds every declaration acknowledged before it began, and
/// is a sound database; a second backup never overwrites the first. On PostgreSQL the command says to use
/// PostgreSQL's own tools.
async fn a_backup_under_write_load_holds_every_acknowledged_declaration(backend: Backend) {
    let s = Scene::new(backend).await;
    let copy = s.app.work_dir.path().join("anzu-backup.db");
    let copy_arg = copy.to_string_lossy().into_owned();
    if backend == Backend::Postgres {
        let refused = s.app.anzu_command(&["backup", &copy_arg], &[]).output().unwrap();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
        return;
    }
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 400.0).await;
    let mut seq = 0;
    let mut declare = async || {
        seq += 1;
        let number = resident_id(&format!("1990{:02}{:02}", 1 + seq / 28 % 12, 1 + seq % 28), seq % 1000);
        let declared = s
            .app
            .declare(&s.landlord, unit.id(), &number, &date(0))
            .await
            .expect(201);
        declared.body.id().to_owned()
    };
    let mut acknowledged = Vec::new();
    for _ in 0..30 {
        acknowledged.push(declare().await);
    }
    let backup = tokio::task::spawn_blocking({
        let mut command = s.app.anzu_command(&["backup", &copy_arg], &[]);
        move || command.output().unwrap()
    });
    let mut during = 0;
    while !backup.is_finished() {
        declare().await;
        during += 1;
    }
    let done = backup.await.unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(during > 0, "declarations went on while the backup ran");
    eprintln!("{during} declarations during the backup");

    let restored = anzu::db::Db::connect(&copy_arg, 1).unwrap();
    let mut conn = restored.get().unwrap();
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let found: Vec<String> = diesel::sql_query("SELECT id FROM tenancies")
        .load::<Found>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !found.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing from it: {missing:?}"
    );
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let check = diesel::sql_query("PRAGMA integrity_check")
        .get_result::<Check>(&mut *conn)
        .unwrap();
    assert_eq!(check.integrity_check, "ok");

    let again = s.app.anzu_command(&["backup", &copy_arg], &[]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

backend_tests!(a_backup_under_write_load_holds_every_acknowledged_declaration);
