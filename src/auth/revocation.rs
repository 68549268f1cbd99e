//! The revocation list: the ids of deactivated users, held in memory by every server process and read
//! again from the database every few seconds, so that a deactivation made through any process stops the
//! user's access tokens everywhere within that interval. Checking a token costs a set look-up, not a
//! database read: the read path keeps its speed.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::{Conn, Db};
use crate::error::ApiError;

/// Deactivated user ids as last read (plus the changes this process made since).
#[derive(Default)]
pub struct RevokedUsers {
    ids: RwLock<HashSet<String>>,
}

impl RevokedUsers {
    pub fn contains(&self, user_id: &str) -> bool {
        let ids = self.ids.read().unwrap_or_else(|p| p.into_inner());
        !ids.is_empty() && ids.contains(user_id)
    }

    /// A deactivation made here: effective at once in this process.
    pub fn insert(&self, user_id: &str) {
        self.ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user_id.to_owned());
    }

    /// An activation made here.
    pub fn remove(&self, user_id: &str) {
        self.ids.write().unwrap_or_else(|p| p.into_inner()).remove(user_id);
    }

    fn replace(&self, ids: HashSet<String>) {
        *self.ids.write().unwrap_or_else(|p| p.into_inner()) = ids;
    }

    /// Reads the list now.
    pub async fn refresh(&self, db: &Db) -> Result<(), ApiError> {
        let ids = db.read(deactivated_ids).await?;
        self.replace(ids);
        Ok(())
    }
}

/// Every deactivated user's id (a partial index holds exactly these).
fn deactivated_ids(conn: &mut Conn) -> Result<HashSet<String>, ApiError> {
    let ids: Vec<String> = users::table
        .filter(diesel::dsl::not(users::active))
        .select(users::id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// Runs in each server process: reads the list every `every`. A failed read keeps the last list.
pub async fn keep_fresh(db: Db, revoked: Arc<RevokedUsers>, every: Duration) {
    loop {
        if let Err(err) = revoked.refresh(&db).await {
            tracing::warn!(error = %err, "could not read the deactivated users");
        }
        tokio::time::sleep(every).await;
    }
}
