//! Users as stored and as answered, and the requests that create and change them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Role;
use crate::db::schema::{console_sessions, users};
use crate::error::ApiError;
use crate::http::etag::Versioned;
use crate::text_enum;

text_enum! {
    /// A landlord's standing in the association: `pending` → `active` ⇄ `suspended`; `expelled` is final.
    pub enum MembershipStatus {
        Pending => "pending",
        Active => "active",
        Suspended => "suspended",
        Expelled => "expelled",
    }
}

text_enum! {
    /// A decision on a membership.
    pub enum MembershipAction {
        Approve => "approve",
        Suspend => "suspend",
        Reinstate => "reinstate",
        Expel => "expel",
    }
}

impl MembershipStatus {
    /// The status `action` leads to from this one, if the move is allowed.
    pub fn after(self, action: MembershipAction) -> Option<MembershipStatus> {
        use MembershipAction as A;
        use MembershipStatus as S;
        match (self, action) {
            (S::Pending, A::Approve) => Some(S::Active),
            (S::Active, A::Suspend) => Some(S::Suspended),
            (S::Suspended, A::Reinstate) => Some(S::Active),
            (S::Pending | S::Active | S::Suspended, A::Expel) => Some(S::Expelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub village_id: Option<String>,
    pub membership_status: MembershipStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// False once an admin deactivated the account: no login, no refresh, no access token honoured.
    pub active: bool,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01", "full_name": "陈建国", "email": "chen@example.cn", "phone": "13812345678", "role": "landlord", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "membership_status": "active", "active": true, "training_valid_until": "2028-11-20", "created_at": "2026-10-30T08:00:00Z", "updated_at": "2026-10-31T08:00:00Z", "version": 2}))]
pub struct User {
    pub id: String,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    pub village_id: Option<String>,
    pub membership_status: MembershipStatus,
    /// False for a deactivated account.
    pub active: bool,
    /// Until when the landlord's training counts: the latest session attended plus `ANZU_TRAINING_VALID_MONTHS`;
    /// null when never trained (and for staff).
    pub training_valid_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Versioned for User {
    fn version(&self) -> i32 {
        self.version
    }
}

impl TryFrom<UserRow> for User {
    type Error = ApiError;
    fn try_from(row: UserRow) -> Result<Self, ApiError> {
        Ok(User {
            role: row.role,
            membership_status: row.membership_status,
            id: row.id,
            full_name: row.full_name,
            email: row.email,
            phone: row.phone,
            village_id: row.village_id,
            active: row.active,
            training_valid_until: None,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        })
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "陈建国", "phone": "13812345678", "email": "chen@example.cn", "password": "correct horse battery", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f"}))]
pub struct RegisterRequest {
    #[validate(custom(function = "crate::validation::person_name"))]
    #[schema(schema_with = crate::validation::schema::person_name)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub full_name: String,
    #[validate(custom(function = "crate::validation::mobile"))]
    #[schema(schema_with = crate::validation::schema::mobile)]
    pub phone: String,
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(custom(function = "crate::validation::password"))]
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "林巡查", "email": "lin@example.cn", "phone": "13987654321", "password": "correct horse battery", "role": "inspector", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f"}))]
pub struct CreateUserRequest {
    #[validate(custom(function = "crate::validation::person_name"))]
    #[schema(schema_with = crate::validation::schema::person_name)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub full_name: String,
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(custom(function = "crate::validation::mobile"))]
    #[schema(schema_with = crate::validation::schema::mobile)]
    pub phone: String,
    #[validate(custom(function = "crate::validation::password"))]
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    pub role: Role,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "chen@example.cn", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// The e-mail address or the phone number.
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "01934b2e-9a1b-7c41-8d2e-5b6a7c8d9e0f.4f3a9c"}))]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "v2.q9Xc3kP0", "password": "a new long password"}))]
pub struct SetPasswordRequest {
    #[validate(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
    #[validate(custom(function = "crate::validation::password"))]
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: User,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "approve", "reason": "入会材料齐全"}))]
pub struct MembershipRequest {
    pub action: MembershipAction,
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub reason: String,
}

/// Why an account is deactivated or activated again (kept in the audit log).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "调离本村"}))]
pub struct ReasonRequest {
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub reason: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "a new long password"}))]
pub struct ChangePasswordRequest {
    #[validate(length(min = 1, max = 256, message = "must be 1 to 256 characters"))]
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    #[validate(custom(function = "crate::validation::password"))]
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "13812345678"}))]
pub struct ForgotPasswordRequest {
    /// The e-mail address or the phone number.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub membership_status: Option<MembershipStatus>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    /// Landlords whose training, today, is `untrained` (never), `lapsed` or `valid`.
    pub training: Option<crate::accounts::training::model::TrainingStanding>,
}

impl<'a> From<&'a UserRow> for crate::notices::outbox::Recipient<'a> {
    fn from(user: &'a UserRow) -> Self {
        crate::notices::outbox::Recipient {
            id: &user.id,
            full_name: &user.full_name,
            phone: user.phone.as_deref(),
            email: &user.email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipAction as A;
    use MembershipStatus as S;

    #[test]
    fn membership_moves() {
        let allowed = [
            (S::Pending, A::Approve, S::Active),
            (S::Active, A::Suspend, S::Suspended),
            (S::Suspended, A::Reinstate, S::Active),
            (S::Pending, A::Expel, S::Expelled),
            (S::Active, A::Expel, S::Expelled),
            (S::Suspended, A::Expel, S::Expelled),
        ];
        for status in MembershipStatus::ALL {
            for action in MembershipAction::ALL {
                let expected = allowed
                    .iter()
                    .find(|(s, a, _)| s == status && a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.after(*action), expected, "{status} + {action}");
            }
        }
    }
}

/// A signed-in session of the web console. The cookie holds the token; the row holds its hash.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions, treat_none_as_default_value = false)]
pub struct ConsoleSessionRow {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    /// Sent back by every form of the session (hidden field), compared before any change.
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    /// The absolute end, whatever the activity.
    pub expires_at: NaiveDateTime,
}
