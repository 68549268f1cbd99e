//! The JSON body extractor: content type checked (415), size limited (413), syntax errors 400, and
//! shape errors and `validator` rules as 422 naming each field. Also the error handlers that make
//! actix's own query and path extractors answer problem+json.

use actix_web::dev::Payload;
use actix_web::error::{PayloadError, QueryPayloadError};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::Validate;

use crate::error::{ApiError, FieldError};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A JSON request body that parsed and passed its `validator` rules.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "Send the body as application/json.".into(),
                ));
            }
            let bytes = body.await.map_err(payload_error)?;
            parse::<T>(&bytes).map(Json)
        })
    }
}

/// A CSV upload as bytes: sent as `text/csv` (or `application/csv`, or `text/tab-separated-values`), else 415;
/// the size limit answers 413 as problem+json.
pub struct CsvBody(pub web::Bytes);

/// The media types a CSV upload may be sent as.
const CSV_TYPES: [&str; 3] = ["text/csv", "application/csv", "text/tab-separated-values"];

impl FromRequest for CsvBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_csv = media_type(req).is_some_and(|mime| CSV_TYPES.contains(&mime.as_str()));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_csv {
                return Err(ApiError::UnsupportedMediaType("Send the file as text/csv.".into()));
            }
            body.await.map(CsvBody).map_err(payload_error)
        })
    }
}

/// The request's media type, lower-case, without parameters.
fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
}

fn is_json(req: &HttpRequest) -> bool {
    media_type(req)
        .is_some_and(|mime| mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")))
}

/// Largest body in which every bad field is looked for; in a larger one only the first is named, so that
/// a hostile body cannot make the search below expensive.
const FIELDWISE_MAX_BYTES: usize = 256 << 10;
/// Most shape errors named in one answer.
const MAX_SHAPE_ERRORS: usize = 32;
/// Most passes over a document, errors inside a replaced value (which are not named) included.
const MAX_PASSES: usize = 4 * MAX_SHAPE_ERRORS;

/// Parses and validates a JSON body: a malformed document is a 400; a well-formed one of the wrong shape
/// or breaking a `validator` rule is one 422 naming every bad field. No message holds a value received
/// (it may be an identity number): each names the field and what was expected.
pub fn parse<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_nul(bytes)?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => {
            deserializer.end().map_err(malformed)?;
            value.validate()?;
            Ok(value)
        }
        Err(first) => {
            // Serde stops at the first bad field; the document is walked again to name the others. (Some
            // shape errors, such as a number where an enum is expected, come out of serde_json as syntax
            // errors: the document decides which it is.)
            let document: Value = serde_json::from_slice(bytes).map_err(malformed)?;
            if !document.is_object() {
                return Err(ApiError::invalid("body", "type", "must be an object"));
            }
            let mut errors = if bytes.len() <= FIELDWISE_MAX_BYTES {
                every_bad_field::<T>(document)
            } else {
                Vec::new()
            };
            if errors.is_empty() {
                errors.push(lone_error(&first));
            }
            Err(ApiError::Validation(errors))
        }
    }
}

/// A NUL character (`\u0000`) in any string or key is refused, naming each field: PostgreSQL cannot store one,
/// and no field of the API means one.
fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    const ESCAPED_NUL: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPED_NUL.len()).any(|w| w == ESCAPED_NUL) {
        return Ok(());
    }
    let document: Value = serde_json::from_slice(bytes).map_err(malformed)?;
    let mut fields = Vec::new();
    find_nul(&document, &mut Vec::new(), &mut fields);
    if fields.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(
        fields
            .into_iter()
            .map(|field| FieldError::new(field, "characters", "must not contain NUL characters"))
            .collect(),
    ))
}

fn find_nul(value: &Value, path: &mut Vec<Step>, out: &mut Vec<String>) {
    match value {
        Value::String(text) if text.contains('\0') => out.push(field_name(path)),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Index(index));
                find_nul(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Step::Key(key.replace('\0', "")));
                if key.contains('\0') {
                    out.push(field_name(path));
                } else {
                    find_nul(item, path, out);
                }
                path.pop();
            }
        }
        _ => {}
    }
}

/// A syntax error: serde_json's syntax messages name what is wrong and where, never the text itself.
fn malformed(err: serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("The body is not valid JSON: {err}."))
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A path as the API names fields: `tenant.id_number`, `results[2].note`; the whole body is `body`.
fn field_name(path: &[Step]) -> String {
    let mut name = String::new();
    for step in path {
        match step {
            Step::Key(key) if name.is_empty() => name.push_str(key),
            Step::Key(key) => {
                name.push('.');
                name.push_str(key);
            }
            Step::Index(index) => name.push_str(&format!("[{index}]")),
        }
    }
    if name.is_empty() { "body".into() } else { name }
}

fn is_within(field: &str, path: &str) -> bool {
    path == "body"
        || field == path
        || field
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// What serde found wrong, without the value it found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    Missing,
    Unknown,
    Duplicate,
    /// An unknown enum value; the allowed ones.
    Variant(Vec<String>),
    /// A wrong type or an out-of-range value; serde's "expected" text (a type, never the value).
    Type(String),
}

#[derive(Debug)]
struct Shape {
    path: Vec<Step>,
    fault: Fault,
}

/// The backtick-quoted name that follows `prefix` at the start of `message`.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix).and_then(|rest| rest.split('`').next())
}

/// Every backtick-quoted word after serde's ", expected": the allowed values of an enum.
fn expected_words(message: &str) -> Vec<String> {
    message
        .split_once("expected")
        .map(|(_, expected)| expected.split('`').skip(1).step_by(2).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Reads a serde error into a path and a fault; None when the path cannot be followed in the document.
fn shape_of(err: &serde_path_to_error::Error<serde_json::Error>) -> Option<Shape> {
    use serde_path_to_error::Segment;
    let mut path = Vec::new();
    for segment in err.path() {
        match segment {
            Segment::Map { key } => path.push(Step::Key(key.clone())),
            Segment::Seq { index } => path.push(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => return None,
        }
    }
    let message = err.inner().to_string();
    let named = |path: &mut Vec<Step>, name: &str| {
        if path.last() != Some(&Step::Key(name.to_owned())) {
            path.push(Step::Key(name.to_owned()));
        }
    };
    let fault = if let Some(name) = quoted_after(&message, "missing field `") {
        named(&mut path, name);
        Fault::Missing
    } else if let Some(name) = quoted_after(&message, "unknown field `") {
        named(&mut path, name);
        Fault::Unknown
    } else if let Some(name) = quoted_after(&message, "duplicate field `") {
        named(&mut path, name);
        Fault::Duplicate
    } else if message.starts_with("unknown variant `") {
        Fault::Variant(expected_words(&message))
    } else {
        let expected = message
            .rsplit_once(", expected ")
            .map(|(_, expected)| expected.trim().to_owned())
            .unwrap_or_default();
        Fault::Type(expected)
    };
    Some(Shape { path, fault })
}

/// What a field must be, as learnt from the stand-in value that it accepted.
#[derive(Debug, Clone)]
enum Expected {
    Text,
    Date,
    Number,
    Whole,
    Boolean,
    List,
    Object,
    OneOf(Vec<String>),
}

/// Stand-ins tried, in order, for a bad or missing value until the type takes one: the first it takes
/// says what the field expects.
fn stand_ins() -> Vec<(Value, Expected)> {
    vec![
        (Value::from("x"), Expected::Text),
        (Value::from("2000-01-01"), Expected::Date),
        (Value::from(0.5), Expected::Number),
        (Value::from(1), Expected::Whole),
        (Value::from(true), Expected::Boolean),
        (Value::Array(Vec::new()), Expected::List),
        (Value::Object(serde_json::Map::new()), Expected::Object),
    ]
}

/// A whole number's range, from serde's name of the integer type.
fn integer_range(expected: &str) -> Option<(i128, i128)> {
    Some(match expected {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn field_error(shape: &Shape, expected: Option<&Expected>) -> FieldError {
    let field = field_name(&shape.path);
    match (&shape.fault, expected) {
        (Fault::Missing, _) => FieldError::new(field, "required", "is required"),
        (Fault::Unknown, _) => FieldError::new(field, "not_allowed", "is not a field of this request"),
        (Fault::Duplicate, _) => FieldError::new(field, "duplicate", "is given more than once"),
        (Fault::Variant(allowed), _) | (_, Some(Expected::OneOf(allowed))) => {
            FieldError::new(field, "enum", format!("must be one of: {}", allowed.join(", ")))
        }
        (Fault::Type(serde_expected), expected) => {
            let message = match expected {
                Some(Expected::Text) => "must be a string".to_owned(),
                Some(Expected::Date) => "must be a date as YYYY-MM-DD".to_owned(),
                Some(Expected::Number) => "must be a number".to_owned(),
                Some(Expected::Whole) => match integer_range(serde_expected) {
                    Some((min, max)) => format!("must be a whole number from {min} to {max}"),
                    None => "must be a whole number".to_owned(),
                },
                Some(Expected::Boolean) => "must be true or false".to_owned(),
                Some(Expected::List) => "must be a list".to_owned(),
                Some(Expected::Object) => "must be an object".to_owned(),
                Some(Expected::OneOf(_)) | None => "has the wrong type".to_owned(),
            };
            FieldError::new(field, "type", message)
        }
    }
}

/// The first error alone, when the document cannot be walked: its field and kind, never its value.
fn lone_error(err: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    match shape_of(err) {
        Some(shape) => field_error(&shape, None),
        None => FieldError::new(field_name(&[]), "type", "has the wrong shape"),
    }
}

/// The value at `path`, if the document has it.
fn value_at<'v>(document: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(document, |value, step| match step {
        Step::Key(key) => value.as_object_mut()?.get_mut(key),
        Step::Index(index) => value.as_array_mut()?.get_mut(*index),
    })
}

/// Puts `replacement` at `path` (adding a missing key), or removes what is there; false when the path
/// does not lead into the document.
fn put(document: &mut Value, path: &[Step], replacement: Option<Value>) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return match replacement {
            Some(value) => {
                *document = value;
                true
            }
            None => false,
        };
    };
    match (value_at(document, parent), last, replacement) {
        (Some(Value::Object(map)), Step::Key(key), Some(value)) => {
            map.insert(key.clone(), value);
            true
        }
        (Some(Value::Object(map)), Step::Key(key), None) => map.remove(key).is_some(),
        (Some(Value::Array(items)), Step::Index(index), Some(value)) if *index < items.len() => {
            items[*index] = value;
            true
        }
        _ => false,
    }
}

/// Finds a stand-in that the field at `shape.path` accepts and leaves it there; returns what it expects.
fn stand_in<T: DeserializeOwned>(document: &mut Value, shape: &Shape) -> Option<Expected> {
    let mut candidates = match &shape.fault {
        Fault::Variant(allowed) => allowed
            .first()
            .map(|v| vec![(Value::from(v.as_str()), Expected::OneOf(allowed.clone()))])
            .unwrap_or_default(),
        _ => stand_ins(),
    };
    candidates.reverse();
    while let Some((candidate, expected)) = candidates.pop() {
        if !put(document, &shape.path, Some(candidate)) {
            return None;
        }
        let err = match serde_path_to_error::deserialize::<_, T>(&*document) {
            Ok(_) => return Some(expected),
            Err(err) => err,
        };
        match shape_of(&err) {
            Some(next) if next.path == shape.path => {
                // An enum says which values it takes; try one of them next.
                if let Fault::Variant(allowed) = next.fault
                    && let Some(first) = allowed.first()
                    && !matches!(expected, Expected::OneOf(_))
                {
                    candidates.push((Value::from(first.as_str()), Expected::OneOf(allowed.clone())));
                }
            }
            _ => return Some(expected),
        }
    }
    None
}

/// Names every bad field of a well-formed document: each shape error in turn, its value replaced by a
/// stand-in of the right type so that serde goes on to the next, then the `validator` rules of the fields
/// that did parse. Errors inside a replaced value are not reported: the value itself is.
fn every_bad_field<T: DeserializeOwned + Validate>(mut document: Value) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut replaced: Vec<Vec<Step>> = Vec::new();
    let within_replaced =
        |replaced: &[Vec<Step>], field: &str| replaced.iter().any(|p| is_within(field, &field_name(p)));
    for _ in 0..MAX_PASSES {
        let err = match serde_path_to_error::deserialize::<_, T>(&document) {
            Ok(parsed) => {
                if let Err(invalid) = parsed.validate()
                    && let ApiError::Validation(found) = ApiError::from(invalid)
                {
                    errors.extend(found.into_iter().filter(|e| !within_replaced(&replaced, &e.field)));
                }
                break;
            }
            Err(err) => err,
        };
        let Some(shape) = shape_of(&err) else { break };
        if errors.len() >= MAX_SHAPE_ERRORS || replaced.contains(&shape.path) {
            break;
        }
        let expected = match shape.fault {
            Fault::Unknown | Fault::Duplicate => {
                if !put(&mut document, &shape.path, None) {
                    break;
                }
                None
            }
            _ => match stand_in::<T>(&mut document, &shape) {
                Some(expected) => Some(expected),
                None => break,
            },
        };
        let error = field_error(&shape, expected.as_ref());
        if !within_replaced(&replaced, &error.field) {
            errors.push(error);
        }
        if !matches!(shape.fault, Fault::Unknown | Fault::Duplicate) {
            replaced.push(shape.path);
        }
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors
}

/// Removes the values a serde message quotes before its "expected" part, keeping what was expected:
/// ``unknown variant `x`, expected one of `a`, `b` `` → ``unknown variant, expected one of `a`, `b` ``.
pub fn without_values(message: &str) -> String {
    let (found, expected) = match message.split_once(", expected") {
        Some((found, expected)) => (found, Some(expected)),
        None => (message, None),
    };
    let found: String = found
        .split('`')
        .step_by(2)
        .collect::<Vec<_>>()
        .join("")
        .trim()
        .to_owned();
    let found = found.split(':').next().unwrap_or_default().trim().to_owned();
    match expected {
        Some(expected) => format!("{found}, expected{expected}"),
        None => found,
    }
}

fn payload_error(err: actix_web::Error) -> ApiError {
    match err.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => ApiError::RequestTimeout,
        _ => ApiError::BadRequest("The request body could not be read.".into()),
    }
}

/// For `PATCH` fields that may be cleared: absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Query strings that do not parse answer 400 naming the problem.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    query_problem(err).into()
}

/// The 400 of a query string that does not parse, without the values it held.
pub fn query_problem(err: QueryPayloadError) -> ApiError {
    let reason = match &err {
        QueryPayloadError::Deserialize(inner) => without_values(&inner.to_string()),
        _ => "it cannot be read".to_owned(),
    };
    ApiError::BadRequest(format!("The query string is malformed: {reason}."))
}

/// Path segments that do not parse answer 404: no such resource.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        #[validate(length(min = 1))]
        id_number: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Apartment,
        SharedHouse,
    }

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        #[validate(length(min = 1))]
        name: String,
        #[validate(nested)]
        tenant: Inner,
        kind: Option<Kind>,
        #[validate(range(min = 1))]
        floors: Option<i32>,
        on: Option<chrono::NaiveDate>,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Inner>,
    }

    fn errors_of(body: &str) -> Vec<FieldError> {
        match parse::<Outer>(body.as_bytes()) {
            Err(ApiError::Validation(fields)) => fields,
            other => panic!("expected validation, got {other:?}"),
        }
    }

    fn fields_of(body: &str) -> Vec<(String, String)> {
        errors_of(body).into_iter().map(|e| (e.field, e.code)).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect()
    }

    #[test]
    fn names_missing_and_mistyped_fields() {
        assert_eq!(
            fields_of(r#"{"tenant":{"id_number":"1"}}"#),
            pairs(&[("name", "required")])
        );
        assert_eq!(
            fields_of(r#"{"name":"a","tenant":{}}"#),
            pairs(&[("tenant.id_number", "required")])
        );
        assert_eq!(
            fields_of(r#"{"name":5,"tenant":{"id_number":"1"}}"#),
            pairs(&[("name", "type")])
        );
    }

    #[test]
    fn names_every_bad_field_in_one_answer() {
        let body = r#"{"name":"","tenant":{"id_number":350524198001014256,"x":1},"kind":"castle","floors":0,
                      "on":"0000-13-01","items":[{"id_number":""},{"id_number":7}],"extra":true}"#;
        assert_eq!(
            fields_of(body),
            pairs(&[
                ("extra", "not_allowed"),
                ("floors", "range"),
                ("items[0].id_number", "length"),
                ("items[1].id_number", "type"),
                ("kind", "enum"),
                ("name", "length"),
                ("on", "type"),
                ("tenant.id_number", "type"),
                ("tenant.x", "not_allowed"),
            ])
        );
        let text = format!("{:?}", errors_of(body));
        assert!(!text.contains("350524") && !text.contains("castle"), "{text}");
        let kind = errors_of(body).into_iter().find(|e| e.field == "kind").unwrap();
        assert_eq!(kind.message, "must be one of: apartment, shared_house");
    }

    #[test]
    fn says_what_was_expected_without_the_value() {
        let messages: Vec<(String, String)> =
            errors_of(r#"{"name":["x"],"tenant":5,"kind":3,"floors":99999999999,"on":20200101,"items":{}}"#)
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect();
        assert_eq!(
            messages,
            vec![
                (
                    "floors".to_owned(),
                    "must be a whole number from -2147483648 to 2147483647".to_owned()
                ),
                ("items".to_owned(), "must be a list".to_owned()),
                ("kind".to_owned(), "must be one of: apartment, shared_house".to_owned()),
                ("name".to_owned(), "must be a string".to_owned()),
                ("on".to_owned(), "must be a date as YYYY-MM-DD".to_owned()),
                ("tenant".to_owned(), "must be an object".to_owned()),
            ]
        );
        assert_eq!(fields_of("[1,2]"), pairs(&[("body", "type")]));
    }

    #[test]
    fn a_hostile_body_gets_a_bounded_search() {
        let items = vec!["5"; 5_000].join(",");
        let body = format!(r#"{{"name":"a","tenant":{{"id_number":"1"}},"items":[{items}]}}"#);
        let started = std::time::Instant::now();
        let errors = errors_of(&body);
        assert_eq!(errors.len(), MAX_SHAPE_ERRORS);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse::<Outer>(b"{\"name\":"), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse::<Outer>(b"not json"), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            parse::<Outer>(b"{\"name\":5, \"tenant\": 350524198001014256"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn query_messages_lose_their_values() {
        assert_eq!(
            without_values("unknown variant `350524198001014256`, expected one of `a`, `b`"),
            "unknown variant, expected one of `a`, `b`"
        );
        assert_eq!(
            without_values("invalid type: string \"350524198001014256\", expected i32"),
            "invalid type, expected i32"
        );
        assert_eq!(
            without_values("invalid digit found in string"),
            "invalid digit found in string"
        );
    }
}
