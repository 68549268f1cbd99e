//! The span every request runs in: `tracing-actix-web`'s own (method, route, client address, request id…), built
//! only when it will be recorded. Its fields are gathered before the span is made, whatever the log filter: the
//! route is matched a second time, the forwarding headers parsed, the user agent read — 8% of the server's CPU
//! for a point read, for a span that a filter of `warn` then drops (docs/performance.md).

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::{Level, Span};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, root_span};

pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Same level and target as the span `root_span!` makes here.
        if tracing::enabled!(Level::INFO) {
            root_span!(level = Level::INFO, request)
        } else {
            Span::none()
        }
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if !span.is_none() {
            DefaultRootSpanBuilder::on_request_end(span, outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test, web};
    use tracing_actix_web::TracingLogger;

    use super::*;

    /// What a handler sees of the span it runs in: its name and whether it carries the route.
    async fn current_span() -> HttpResponse {
        let seen = Span::current().metadata().map_or(String::new(), |m| {
            format!("{} {}", m.name(), m.fields().field("http.route").is_some())
        });
        HttpResponse::Ok().body(seen)
    }

    /// Requests run in the full span when the filter records `info`, in none at `warn`.
    #[actix_web::test]
    async fn requests_run_in_the_span_when_the_filter_records_it() {
        for (level, expected) in [(Level::INFO, "HTTP request true"), (Level::WARN, "")] {
            let _default = tracing::subscriber::set_default(tracing_subscriber::fmt().with_max_level(level).finish());
            let app = test::init_service(
                App::new()
                    .wrap(TracingLogger::<RootSpan>::new())
                    .route("/properties/{id}", web::get().to(current_span)),
            )
            .await;
            let body =
                test::call_and_read_body(&app, test::TestRequest::get().uri("/properties/p1").to_request()).await;
            assert_eq!(body, expected, "at {level}");
        }
    }
}
