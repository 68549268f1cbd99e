//! Query strings of lists and reports: parsed, then checked by the type's `validator` rules. A parameter of
//! the wrong type, or one breaking a rule (an id that is not a UUID, stars outside 0-5), is a 400 naming
//! each bad parameter, as for the paging parameters; the value itself is never repeated.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, field_errors};

/// A validated query string.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + Validate> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()))
    }
}

fn parse<T: DeserializeOwned + Validate>(query: &str) -> Result<Query<T>, ApiError> {
    let value = web::Query::<T>::from_query(query)
        .map_err(super::json::query_problem)?
        .into_inner();
    value
        .validate()
        .map_err(|errors| ApiError::MalformedQuery(field_errors(&errors)))?;
    Ok(Query(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Validate)]
    struct Filter {
        #[validate(custom(function = "crate::validation::uuid"))]
        village_id: Option<String>,
        #[validate(range(min = 0, max = 5))]
        stars: Option<i32>,
    }

    fn fields(result: Result<Query<Filter>, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::MalformedQuery(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a malformed query, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_query_passes_and_each_bad_parameter_is_named() {
        let ok = parse::<Filter>("village_id=01a228c9-30d6-7162-9b6f-997a102c2e98&stars=3").expect("valid");
        assert_eq!(ok.stars, Some(3));
        assert!(parse::<Filter>("").expect("empty").village_id.is_none());
        assert_eq!(
            fields(parse::<Filter>("village_id=abc&stars=9")),
            ["stars", "village_id"]
        );
    }

    #[test]
    fn a_parameter_of_the_wrong_type_is_a_bad_request() {
        assert!(matches!(parse::<Filter>("stars=many"), Err(ApiError::BadRequest(_))));
    }
}
