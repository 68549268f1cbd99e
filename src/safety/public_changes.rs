//! Every process forgets a changed property's public answer at once (issue 17): on PostgreSQL, each process
//! keeps one connection that `LISTEN`s on [`CHANNEL`] and sends a `NOTIFY` with the property's id whenever this
//! process forgets one ([`super::public::PublicRatings::forget`]); every process (this one too) forgets what
//! it is told. A lost connection is made again, and the whole cache is forgotten then, since notices sent
//! meanwhile were missed. On SQLite there is one process and nothing to tell.

use std::sync::Weak;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::public::PublicCache;

/// The channel the processes share.
pub const CHANNEL: &str = "anzu_public_changes";

/// How often the listener looks for notices from the others: the delay before another process forgets.
const POLL: Duration = Duration::from_millis(50);

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// Runs on its own thread until the cache is dropped (its process's app is gone): sends this process's
/// changes and forgets everyone's.
pub fn listen(url: String, cache: Weak<PublicCache>, changes: Receiver<String>) {
    let mut first = true;
    loop {
        match PgConnection::establish(&url) {
            Ok(mut conn) => {
                if !first && let Some(cache) = cache.upgrade() {
                    cache.forget_all();
                }
                first = false;
                match relay(&mut conn, &cache, &changes) {
                    Ok(()) => return,
                    Err(err) => tracing::warn!(error = %err, "public rating changes: connection lost; reconnecting"),
                }
            }
            Err(err) => tracing::warn!(error = %err, "public rating changes: cannot connect; retrying"),
        }
        match changes.recv_timeout(RECONNECT) {
            Err(RecvTimeoutError::Disconnected) => return,
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Relays on one connection; `Ok` when the process's app is gone, an error when the connection is.
fn relay(conn: &mut PgConnection, cache: &Weak<PublicCache>, changes: &Receiver<String>) -> QueryResult<()> {
    conn.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    loop {
        match changes.recv_timeout(POLL) {
            Ok(property_id) => {
                let mut ids = vec![property_id];
                ids.extend(changes.try_iter());
                for id in ids {
                    diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<diesel::sql_types::Text, _>(CHANNEL)
                        .bind::<diesel::sql_types::Text, _>(id)
                        .execute(conn)?;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let Some(cache) = cache.upgrade() else {
            return Ok(());
        };
        for notice in conn.notifications_iter() {
            cache.forget(&notice?.payload);
        }
    }
}
