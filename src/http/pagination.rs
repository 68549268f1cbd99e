//! Cursor pagination shared by every list: `limit`, an opaque signed `cursor`, and `updated_since`.
//!
//! Lists are ordered by id (see `db::query`): nothing is lost or repeated while a client pages through.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDateTime};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::{IntoParams, ToSchema};

use crate::db::query;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
const SIGNATURE_BYTES: usize = 12;

/// The paging parameters every list accepts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50). Read as text, so that a bad value is named in a 400.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only items changed after this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime, pattern = "^(19[0-9]{2}|20[0-9]{2}|2100)-")]
    pub updated_since: Option<String>,
}

/// The paging parameters of a request, parsed: the plain page the repositories read (through `Deref`), and the
/// key that signs the next cursor.
#[derive(Debug, Clone)]
pub struct Page {
    page: query::Page,
    key: Vec<u8>,
}

impl std::ops::Deref for Page {
    type Target = query::Page;
    fn deref(&self) -> &query::Page {
        &self.page
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl Page {
    /// Cuts the fetched rows to a page and makes the cursor for the next one.
    pub fn finish<R, T>(
        &self,
        mut rows: Vec<R>,
        id_of: impl Fn(&R) -> &str,
        convert: impl FnMut(R) -> T,
    ) -> Paginated<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| self.sign(id_of(r)))
        } else {
            None
        };
        Paginated {
            items: rows.into_iter().map(convert).collect(),
            next_cursor,
        }
    }

    /// Like [`Page::finish`], for rows whose conversion can fail.
    pub fn finish_try<R, T>(
        &self,
        rows: Vec<R>,
        id_of: impl Fn(&R) -> &str,
        convert: impl FnMut(R) -> Result<T, ApiError>,
    ) -> Result<Paginated<T>, ApiError> {
        let page = self.finish(rows, id_of, |r| r);
        Ok(Paginated {
            items: page.items.into_iter().map(convert).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    fn sign(&self, id: &str) -> String {
        format!(
            "{}.{}",
            B64.encode(id),
            B64.encode(&signature(&self.key, id)[..SIGNATURE_BYTES])
        )
    }

    fn parse(query: PageQuery, key: Vec<u8>) -> Result<Page, ApiError> {
        let mut errors = Vec::new();
        let limit = parse_limit(query.limit.as_deref()).unwrap_or_else(|error| {
            errors.push(error);
            DEFAULT_LIMIT
        });
        let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => {
                let verified = verify(&key, cursor);
                if verified.is_none() {
                    errors.push(FieldError::new(
                        "cursor",
                        "invalid",
                        "cursor is not one this service issued",
                    ));
                }
                verified
            }
        };
        let updated_since = parse_updated_since(query.updated_since.as_deref()).unwrap_or_else(|error| {
            errors.push(error);
            None
        });
        if !errors.is_empty() {
            return Err(ApiError::MalformedQuery(errors));
        }
        Ok(Page {
            page: query::Page {
                limit,
                after,
                updated_since,
            },
            key,
        })
    }
}

/// `limit`: a whole number from 1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when absent.
fn parse_limit(text: Option<&str>) -> Result<i64, FieldError> {
    match text.map(str::parse::<i64>) {
        None => Ok(DEFAULT_LIMIT),
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new(
            "limit",
            "range",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// `updated_since`: an RFC 3339 time from 1900 to 2100, as UTC.
fn parse_updated_since(text: Option<&str>) -> Result<Option<NaiveDateTime>, FieldError> {
    let Some(text) = text else { return Ok(None) };
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) if crate::validation::date(&t.date_naive()).is_err() => Err(FieldError::new(
            "updated_since",
            "range",
            "updated_since must be between 1900-01-01 and 2100-12-31",
        )),
        Ok(t) => Ok(Some(t.naive_utc())),
        Err(_) => Err(FieldError::new(
            "updated_since",
            "format",
            "updated_since must be an RFC 3339 time",
        )),
    }
}

fn mac(key: &[u8], id: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac
}

fn signature(key: &[u8], id: &str) -> Vec<u8> {
    mac(key, id).finalize().into_bytes().to_vec()
}

fn verify(key: &[u8], cursor: &str) -> Option<String> {
    let (id_part, sig_part) = cursor.split_once('.')?;
    let id = String::from_utf8(B64.decode(id_part).ok()?).ok()?;
    let given = B64.decode(sig_part).ok()?;
    // The cursor carries the first SIGNATURE_BYTES of the tag; the MAC compares them in constant time.
    let matches = given.len() == SIGNATURE_BYTES && mac(key, &id).verify_truncated_left(&given).is_ok();
    matches.then_some(id)
}

impl FromRequest for Page {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let query = web::Query::<PageQuery>::from_query(req.query_string())
                .map_err(|e| ApiError::BadRequest(format!("The query string is malformed: {e}.")))?;
            Page::parse(query.into_inner(), state.cursor_key.clone())
        })();
        std::future::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cursor: Option<&str>) -> Result<Page, ApiError> {
        Page::parse(
            PageQuery {
                limit: Some("2".into()),
                cursor: cursor.map(Into::into),
                updated_since: None,
            },
            b"k".to_vec(),
        )
    }

    #[test]
    fn cursor_round_trips_and_forgery_fails() {
        let p = page(None).unwrap();
        let result = p.finish(vec!["a", "b", "c"], |s| s, |s| s);
        assert_eq!(result.items, vec!["a", "b"]);
        let cursor = result.next_cursor.unwrap();
        assert_eq!(page(Some(&cursor)).unwrap().after.as_deref(), Some("b"));

        let forged = format!("{}.{}", B64.encode("zzz"), cursor.split_once('.').unwrap().1);
        assert!(matches!(page(Some(&forged)), Err(ApiError::MalformedQuery(_))));
        assert!(matches!(page(Some("garbage")), Err(ApiError::MalformedQuery(_))));
    }

    #[test]
    fn last_page_has_no_cursor() {
        let p = page(None).unwrap();
        assert!(p.finish(vec!["a", "b"], |s| s, |s| s).next_cursor.is_none());
    }

    #[test]
    fn limit_out_of_range_is_named() {
        let err = Page::parse(
            PageQuery {
                limit: Some("500".into()),
                cursor: None,
                updated_since: None,
            },
            vec![],
        )
        .unwrap_err();
        match err {
            ApiError::MalformedQuery(fields) => assert_eq!(fields[0].field, "limit"),
            other => panic!("{other:?}"),
        }
    }
}
