//! A forgotten password, from the sign-in page: the API's reset flow (`accounts::login::request_reset`, the same
//! limit and the same e-mailed one-time link to `/set-password`). The answer is the same whether or not the login
//! exists.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::model::ForgotPasswordRequest;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ForgotForm {
    login: String,
    csrf: String,
}

/// `GET /console/forgot`: the form, with a fresh CSRF token in a cookie and in the form.
pub async fn form(state: web::Data<AppState>) -> HttpResponse {
    page(&state, StatusCode::OK, "", None, false)
}

fn page(state: &AppState, status: StatusCode, login: &str, error: Option<String>, sent: bool) -> HttpResponse {
    let context = json!({"login": login, "error": error, "sent": sent});
    super::signed_out_page(state, "console_forgot.html", status, context)
}

/// `POST /console/forgot`: asks for the link; the page then says one is on its way if the account exists.
pub async fn request(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<web::Form<ForgotForm>, actix_web::Error>,
) -> HttpResponse {
    let Some(ForgotForm { login, .. }) = super::signed_out_form(&req, &state, form, |f: &ForgotForm| &f.csrf) else {
        return super::foreign_form();
    };
    let body = json!({"login": login.trim()});
    let checked: Result<ForgotPasswordRequest, ApiError> = crate::http::json::parse(body.to_string().as_bytes());
    let request = match checked {
        Ok(request) => request,
        Err(ApiError::Validation(fields)) => {
            let message = fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; ");
            return page(&state, StatusCode::UNPROCESSABLE_ENTITY, &login, Some(message), false);
        }
        Err(err) => return crate::pages::error_page(err),
    };
    let address = crate::http::client_ip(&req, &state.settings.trust_proxy);
    match crate::accounts::login::request_reset(state.clone().into_inner(), address, request.login).await {
        Ok(()) => page(&state, StatusCode::OK, "", None, true),
        Err(err) => crate::pages::error_page(err),
    }
}
