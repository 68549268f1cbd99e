//! Who is calling, and what their role lets them do: `Role`, and `Caller` as a verified access token names
//! it. Signing and checking tokens is `tokens`; the deactivated users whose tokens stop working, `revocation`.
//! No HTTP here: `http::auth` reads the `Authorization` header into a `Caller`.

pub mod password;
pub mod revocation;
pub mod scope;
pub mod tokens;

use crate::error::ApiError;
use crate::text_enum;

text_enum! {
    /// What a user may do.
    pub enum Role {
        Admin => "admin",
        Auditor => "auditor",
        Inspector => "inspector",
        Landlord => "landlord",
    }
}

/// The authenticated user making the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub village_id: Option<String>,
    /// The session (refresh-token family) the access token was issued in, when it says.
    pub session_id: Option<String>,
}

impl Caller {
    /// Refuses (403) a caller whose role is not among `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "The {} role may not do this.",
                self.role.as_str()
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether staff of this caller's village (or an admin) may see things in `village_id`.
    pub fn covers_village(&self, village_id: &str) -> bool {
        self.is_admin() || self.village_id.as_deref() == Some(village_id)
    }
}
