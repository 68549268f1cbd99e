//! The OpenAPI document, generated from the handlers' annotations, and what else reads it (the methods each path
//! allows).

pub mod allowed_methods;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use utoipa_actix_web::AppExt;

/// The document at `/api/openapi.json` and its browsable reference at `/docs/`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }),
    )
    .route("/api/openapi.json", web::get().to(openapi_json))
    .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/api/openapi.json")));
}

/// The OpenAPI document, generated from the code on first request and kept.
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = DOCUMENT.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok().content_type("application/json").body(json.as_str())
}

/// The OpenAPI document: the operations of every route [`crate::routes::api`] mounts, as each handler's
/// `#[utoipa::path]` describes it, then completed with what the shared machinery serves around them.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::api)
        .split_for_parts();
    ResponsesAsServed.modify(&mut document);
    SharedTypes.modify(&mut document);
    document
}

/// What the document says beyond the routes: title, security scheme, tags.
#[derive(OpenApi)]
#[openapi(
    info(title = "anzu", description = "Rental registry of a village landlord association (安租)."),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login and tokens"),
        (name = "users", description = "Users and membership"),
        (name = "training", description = "Landlord training sessions and who attended"),
        (name = "villages", description = "Villages and grids"),
        (name = "registry", description = "Properties, units and tenant declarations"),
        (name = "enterprises", description = "Enterprises (unified social credit code) and units or properties let to them"),
        (name = "audit", description = "The audit log"),
        (name = "safety", description = "Checklist, inspections, ratings, rectification orders, delisting"),
        (name = "appeals", description = "Appeals against inspections, re-rating requests, the owner's public reply"),
        (name = "public", description = "The public rating, no login"),
        (name = "notices", description = "Compliance e-mail and the daily sweep"),
        (name = "reports", description = "Village summary, the ledger as CSV, ledger import"),
        (name = "patrols", description = "Grid patrols"),
        (name = "photos", description = "Photo evidence of failed items and of their fixes"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every response as the server sends it: described (OpenAPI requires a description; the status's reason phrase
/// where the handler gave none), error bodies as `application/problem+json`, the type they are served with, and
/// every status the shared machinery answers declared where it can: 401 on every secured operation; 400, 408, 413,
/// 415 and 422 where a body is read; 400 where a query is; 404 where a path names something; 409 (an
/// `Idempotency-Key` still running) on secured POSTs; 503 wherever the database is used. Also the headers a client
/// needs: `Idempotency-Key` and `If-Match` where they work, `ETag`, `Idempotent-Replayed` and `Retry-After` where
/// they are sent.
struct ResponsesAsServed;

impl Modify for ResponsesAsServed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let versioned = &versioned_schemas(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (false, &mut item.get),
                (false, &mut item.put),
                (true, &mut item.post),
                (false, &mut item.delete),
                (false, &mut item.options),
                (false, &mut item.head),
                (false, &mut item.patch),
                (false, &mut item.trace),
            ];
            for (is_post, operation) in operations {
                let Some(operation) = operation else { continue };
                let served = Served::of(path, is_post, operation);
                served.declare_statuses(operation);
                served.declare_headers(operation);
                served.describe_responses(operation, versioned);
            }
        }
    }
}

/// What the shared machinery does around one operation.
struct Served {
    secured: bool,
    has_query: bool,
    has_path: bool,
    has_body: bool,
    /// A secured POST that honours `Idempotency-Key`.
    idempotent: bool,
    uses_database: bool,
}

impl Served {
    fn of(path: &str, is_post: bool, operation: &utoipa::openapi::path::Operation) -> Served {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
        let parameters = operation.parameters.as_deref().unwrap_or_default();
        let located = |place: ParameterIn| {
            parameters
                .iter()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
        };
        Served {
            secured,
            has_query: located(ParameterIn::Query),
            has_path: located(ParameterIn::Path),
            has_body: operation.request_body.is_some(),
            idempotent: is_post && secured && !crate::idempotency::holds_credentials(path),
            uses_database: path.starts_with("/api/v1") || path.starts_with("/public/") || path == "/readyz",
        }
    }

    /// The statuses the machinery answers, as problem+json, where the handler did not declare them.
    fn declare_statuses(&self, operation: &mut utoipa::openapi::path::Operation) {
        let mut answered: Vec<u16> = Vec::new();
        if self.secured {
            answered.push(401);
        }
        if self.has_body {
            answered.extend([400, 408, 413, 415, 422]);
        }
        if self.has_query || self.idempotent {
            answered.push(400);
        }
        if self.has_path && self.uses_database {
            answered.push(404);
        }
        if self.idempotent {
            // A key still in flight (409), or repeated with another request (422).
            answered.extend([409, 422]);
        }
        if self.uses_database {
            answered.push(503);
        }
        for code in answered {
            operation
                .responses
                .responses
                .entry(code.to_string())
                .or_insert_with(|| utoipa::openapi::RefOr::T(problem_response(code)));
        }
    }

    /// `Idempotency-Key` and `If-Match` where they work.
    fn declare_headers(&self, operation: &mut utoipa::openapi::path::Operation) {
        use utoipa::openapi::RefOr;
        let preconditioned = operation.responses.responses.contains_key("412");
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        if self.idempotent {
            parameters.push(RefOr::T(header_parameter(
                "Idempotency-Key",
                "Any string up to 255 characters: a repeat with the same body answers the first answer again \
                 (`Idempotent-Replayed: true`) and does nothing twice; with another body, 422.",
                idempotency_key_schema(),
            )));
        }
        if preconditioned {
            parameters.push(RefOr::T(header_parameter(
                "If-Match",
                "The `ETag` (version) the change was made from: another version answers 412.",
                string_schema(),
            )));
        }
        if parameters.is_empty() {
            operation.parameters = None;
        }
    }

    /// Every response described, its headers named, error bodies as `application/problem+json`.
    fn describe_responses(&self, operation: &mut utoipa::openapi::path::Operation, versioned: &[String]) {
        for (status, response) in operation.responses.responses.iter_mut() {
            let utoipa::openapi::RefOr::T(response) = response else {
                continue;
            };
            let code = status.parse::<u16>().ok();
            if response.description.is_empty() {
                response.description = reason(code);
            }
            let success = code.is_some_and(|c| (200..300).contains(&c));
            if success && returns_versioned(response, versioned) {
                response.headers.insert(
                    "ETag".into(),
                    header("The resource's version, quoted: send it as `If-Match` to change it."),
                );
            }
            if success && self.idempotent {
                response.headers.insert(
                    "Idempotent-Replayed".into(),
                    header("`true` when this is the stored answer to a repeated `Idempotency-Key`."),
                );
            }
            if matches!(code, Some(429 | 503)) {
                response
                    .headers
                    .insert("Retry-After".into(), header("Seconds to wait before trying again."));
            }
            if code.is_some_and(|c| c >= 400)
                && let Some(body) = response.content.shift_remove("application/json")
            {
                response.content.insert("application/problem+json".to_owned(), body);
            }
        }
    }
}

/// The component schemas that carry a `version` (single resources, answered with an `ETag`).
fn versioned_schemas(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let Ok(document) = serde_json::to_value(openapi.components.as_ref()) else {
        return Vec::new();
    };
    document["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .filter(|(_, schema)| schema["properties"].get("version").is_some())
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a response's JSON body is one of the `versioned` schemas.
fn returns_versioned(response: &utoipa::openapi::Response, versioned: &[String]) -> bool {
    use utoipa::openapi::RefOr;
    matches!(
        response.content.get("application/json"),
        Some(RefOr::T(content)) if matches!(&content.schema, Some(RefOr::Ref(r)) if versioned.contains(&r.ref_location))
    )
}

/// An optional request header.
fn header_parameter(
    name: &str,
    description: &str,
    schema: utoipa::openapi::schema::Object,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// What `Idempotency-Key` accepts: 1 to 255 visible ASCII characters (spaces inside), as a header carries them.
fn idempotency_key_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::idempotency::MAX_KEY_LEN))
        .pattern(Some("^[!-~]([ -~]*[!-~])?$"))
        .build()
}

/// A string response header.
fn header(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::header::Header> {
    utoipa::openapi::RefOr::T(
        utoipa::openapi::header::HeaderBuilder::new()
            .schema(Some(string_schema()))
            .description(Some(description))
            .build(),
    )
}

fn string_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .build()
}

/// The reason phrase of a status, as a response's description.
fn reason(code: Option<u16>) -> String {
    code.and_then(|c| actix_web::http::StatusCode::from_u16(c).ok())
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Answer")
        .to_owned()
}

/// An error answer: a problem document.
fn problem_response(code: u16) -> utoipa::openapi::Response {
    use utoipa::openapi::content::ContentBuilder;
    use utoipa::openapi::response::ResponseBuilder;
    ResponseBuilder::new()
        .description(reason(Some(code)))
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// What generators need to make one model per type: a page of a list names its item type (`$ref`) instead of
/// repeating it inline, and ids are declared as the UUIDs they are.
struct SharedTypes;

impl Modify for SharedTypes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ArrayItems, Schema};
        use utoipa::openapi::{KnownFormat, Ref, RefOr, SchemaFormat};
        if let Some(components) = openapi.components.as_mut() {
            let names: Vec<String> = components.schemas.keys().cloned().collect();
            for name in &names {
                let Some(item) = name
                    .strip_prefix("Paginated_")
                    .filter(|item| names.iter().any(|n| n == item))
                else {
                    continue;
                };
                if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(name)
                    && let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items")
                {
                    items.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
                }
            }
            for schema in components.schemas.values_mut() {
                let RefOr::T(Schema::Object(object)) = schema else {
                    continue;
                };
                for (field, property) in object.properties.iter_mut() {
                    let RefOr::T(Schema::Object(property)) = property else {
                        continue;
                    };
                    if !is_string(&property.schema_type) || property.format.is_some() || property.enum_values.is_some()
                    {
                        continue;
                    }
                    if field == "id" || field.ends_with("_id") {
                        property.format = Some(SchemaFormat::KnownFormat(KnownFormat::Uuid));
                    } else if property.pattern.is_none() {
                        // No text of the API holds a NUL character (`http::nul`, `http::json`).
                        property.pattern = Some(r"^[^\u0000]*$".to_owned());
                    }
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let utoipa::openapi::RefOr::T(parameter) = parameter else {
                        continue;
                    };
                    if parameter.name == "id" || parameter.name.ends_with("_id") {
                        parameter.schema = Some(uuid_schema().into());
                    }
                }
            }
        }
    }
}

/// A string, or a string or null.
fn is_string(schema_type: &utoipa::openapi::schema::SchemaType) -> bool {
    use utoipa::openapi::schema::{SchemaType, Type};
    match schema_type {
        SchemaType::Type(Type::String) => true,
        SchemaType::Array(types) => types.iter().all(|t| matches!(t, Type::String | Type::Null)),
        _ => false,
    }
}

fn uuid_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Uuid,
        )))
        .build()
}
