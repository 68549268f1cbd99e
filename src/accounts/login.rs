//! Password sign-in, one rule for the API's `POST /auth/login` and the console's sign-in form: failures are
//! counted per client address and per account (its e-mail and phone together) before the slow verification, so
//! parallel guesses cannot outrun the limits; a deactivated account is refused like a wrong password, after the
//! same work.

use std::net::IpAddr;

use crate::accounts::links::LinkPurpose;
use crate::accounts::model::UserRow;
use crate::accounts::repo;
use crate::error::ApiError;
use crate::state::AppState;

pub const BAD_CREDENTIALS: &str = "The login or the password is wrong.";

/// The active user whose login (e-mail or phone) and password these are; 401 otherwise, 429 past a limit.
pub async fn authenticate(
    state: &AppState,
    address: Option<IpAddr>,
    login: String,
    password: String,
) -> Result<UserRow, ApiError> {
    let address_key = format!("addr:{}", address.map(|a| a.to_string()).unwrap_or_default());
    let address_attempt = state.address_limiter.reserve(&address_key).await?;
    let lookup = login.clone();
    let user = state.db.lookup(move |conn| repo::find_by_login(conn, &lookup)).await?;
    // One counter per account, whichever of its logins is typed; unknown logins count per login.
    let account_key = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{}", login.trim().to_lowercase()),
    };
    let account_attempt = state.login_limiter.reserve(&account_key).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let valid = state.hashing.verify(password, stored_hash).await?;
    let Some(user) = user.filter(|u| valid && u.active) else {
        address_attempt.keep();
        account_attempt.keep();
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS.into()));
    };
    account_attempt.give_back().await;
    state.login_limiter.clear(&account_key).await?;
    address_attempt.give_back().await;
    Ok(user)
}

/// Asks for a password reset link, one rule for the API's `POST /auth/forgot-password` and the console's form:
/// limited per client address; for an active user whose login this is, a one-time link is e-mailed (at most one
/// per ten minutes). The caller answers at once, the same whether or not the login exists: the look-up runs
/// after, so its timing says nothing about the login.
pub async fn request_reset(
    state: std::sync::Arc<AppState>,
    address: Option<IpAddr>,
    login: String,
) -> Result<(), ApiError> {
    state.account_limiter.check("forgot_password", address).await?;
    actix_web::rt::spawn(async move {
        let settings = state.settings.clone();
        let queued = state
            .db
            .write(move |conn| match repo::find_by_login(conn, &login)? {
                Some(user) if user.active => {
                    crate::accounts::links::queue_link(conn, &settings, &user, LinkPurpose::Reset)
                }
                _ => Ok(false),
            })
            .await;
        if let Err(err) = queued {
            tracing::warn!(error = %err, "could not queue a password reset link");
        }
    });
    Ok(())
}
