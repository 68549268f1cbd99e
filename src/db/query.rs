//! What every list query shares: a plain page (size, the id to continue after, `updated_since`) and
//! `paged!`, which applies it. The HTTP layer reads a page from the query string and signs its cursors
//! (`http::pagination`); repositories only see this.

use chrono::NaiveDateTime;

/// A page of a list ordered by id: ids are UUIDv7, so that is creation order, and rows inserted while a
/// client pages through land after its cursor.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: i64,
    /// Only rows with an id greater than this.
    pub after: Option<String>,
    /// Only rows changed after this time.
    pub updated_since: Option<NaiveDateTime>,
}

impl Page {
    /// How many rows to fetch: one more than the limit tells whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// Applies a page's order, size, cursor and `updated_since` to a boxed query on `$table`. The time column is
/// `updated_at` unless named (rows that never change have only `created_at`).
macro_rules! paged {
    ($query:expr, $table:ident, $page:expr) => {
        $crate::db::query::paged!($query, $table, $page, updated_at)
    };
    ($query:expr, $table:ident, $page:expr, $changed_at:ident) => {{
        let page: &$crate::db::query::Page = $page;
        let mut query = $query.order($table::id.asc()).limit(page.fetch_limit());
        if let Some(after) = &page.after {
            query = query.filter($table::id.gt(after.clone()));
        }
        if let Some(since) = page.updated_since {
            query = query.filter($table::$changed_at.gt(since));
        }
        query
    }};
}
pub(crate) use paged;
