//! What answers a request that no route took: 405 with `Allow` when its path is one of the API's with other
//! methods (as clients and proxies expect), else 404. The API's paths and their methods are read from the
//! OpenAPI document, which a test holds to the contract, so there is no second list to keep.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use actix_web::HttpRequest;

use crate::error::ApiError;

/// Each documented path's segments (`None` for a `{parameter}`) and its methods.
type Routes = Vec<(Vec<Option<String>>, BTreeSet<String>)>;

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let document = serde_json::to_value(super::document()).unwrap_or_default();
        let Some(paths) = document["paths"].as_object() else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(path, operations)| {
                let segments = path
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let methods: BTreeSet<String> = operations
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                (segments, methods)
            })
            .collect()
    })
}

/// The methods the API serves at `path`, if it is one of its paths.
fn allowed_methods(path: &str) -> Option<&'static BTreeSet<String>> {
    let segments: Vec<&str> = path.split('/').collect();
    routes().iter().find_map(|(pattern, methods)| {
        let matches = pattern.len() == segments.len()
            && pattern
                .iter()
                .zip(&segments)
                .all(|(want, got)| want.as_deref().is_none_or(|w| w == *got));
        matches.then_some(methods)
    })
}

/// The default service: 405 naming the methods the path has, or 404.
pub async fn answer(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    match allowed_methods(req.path()) {
        Some(methods) if !methods.contains(req.method().as_str()) => Err(ApiError::MethodNotAllowed {
            allow: methods.iter().cloned().collect::<Vec<_>>().join(", "),
        }),
        _ => Err(ApiError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_name_their_methods() {
        let methods = allowed_methods("/api/v1/properties/0190-anything").expect("a documented path");
        assert!(methods.contains("GET") && methods.contains("PATCH") && !methods.contains("DELETE"));
        assert!(allowed_methods("/api/v1/nothing-here").is_none());
        assert!(allowed_methods("/api/v1/properties/a/b/c").is_none());
    }
}
