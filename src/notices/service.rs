//! What an admin does to the outbox, one rule for the API and the console: a failed notice is put back in the
//! queue with fresh attempts; any other is left as it is (409).

use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::error::ApiError;
use crate::ids::now;
use crate::notices::model::NoticeRow;
use crate::notices::repo;

/// Puts the failed notice `id` back in the queue (admin); 404 for no such notice, 409 for one not failed.
pub fn retry_failed(conn: &mut Conn, caller: &Caller, id: &str) -> Result<NoticeRow, ApiError> {
    caller.require(&[Role::Admin])?;
    repo::find(conn, id)?;
    if !repo::requeue_failed(conn, id, now())? {
        return Err(ApiError::Conflict("Only a failed notice can be retried.".into()));
    }
    repo::find(conn, id)
}
