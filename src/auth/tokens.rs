//! Access tokens: short-lived HS256 JWTs naming the user, their role, village and session.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Role};
use crate::clock::Clock;
use crate::error::ApiError;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    village_id: Option<String>,
    /// The session (refresh-token family) the token was issued in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    iat: i64,
    exp: i64,
}

/// Signs and checks access tokens. Only HS256 is accepted: `alg: none` and every other algorithm fail.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
    /// Dates tokens and decides when they expire (jsonwebtoken would read the system clock).
    clock: Clock,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl_secs,
            clock: Clock::system(),
        })
    }

    /// The same keys, reading time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        TokenKeys { clock, ..self }
    }

    fn now_secs(&self) -> i64 {
        self.clock.now().and_utc().timestamp()
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: &str, role: Role, village_id: Option<&str>) -> Result<String, ApiError> {
        self.issue_in_session(user_id, role, village_id, None)
    }

    /// An access token that names the session (refresh-token family) it belongs to.
    pub fn issue_in_session(
        &self,
        user_id: &str,
        role: Role,
        village_id: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<String, ApiError> {
        let now = self.now_secs();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            village_id: village_id.map(str::to_owned),
            sid: session_id.map(str::to_owned),
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| ApiError::Unauthorized("The access token is not valid.".into()))?;
        // Expiry is checked here, against `clock`, with no leeway.
        if data.claims.exp < self.now_secs() {
            return Err(ApiError::Unauthorized("The access token has expired.".into()));
        }
        Ok(Caller {
            user_id: data.claims.sub,
            role: data.claims.role,
            village_id: data.claims.village_id,
            session_id: data.claims.sid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip() {
        let keys = TokenKeys::new(SECRET, 60).unwrap();
        let token = keys.issue("u1", Role::Inspector, Some("v1")).unwrap();
        let caller = keys.verify(&token).unwrap();
        assert_eq!(caller.user_id, "u1");
        assert_eq!(caller.role, Role::Inspector);
        assert_eq!(caller.village_id.as_deref(), Some("v1"));
    }

    #[test]
    fn refuses_other_keys_and_algorithms() {
        let keys = TokenKeys::new(SECRET, 60).unwrap();
        let other = TokenKeys::new(b"another-secret-another-secret-123", 60).unwrap();
        let token = other.issue("u1", Role::Admin, None).unwrap();
        assert!(matches!(keys.verify(&token), Err(ApiError::Unauthorized(_))));

        let claims = Claims {
            sub: "u1".into(),
            role: Role::Admin,
            village_id: None,
            sid: None,
            iat: 0,
            exp: i64::MAX / 2,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        assert!(matches!(keys.verify(&hs512), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn refuses_expired_tokens() {
        let keys = TokenKeys::new(SECRET, -1).unwrap();
        let token = keys.issue("u1", Role::Admin, None).unwrap();
        assert!(matches!(keys.verify(&token), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn tokens_expire_on_the_keys_clock() {
        let (clock, shift) = Clock::shiftable();
        let keys = TokenKeys::new(SECRET, 60).unwrap().with_clock(clock);
        let token = keys.issue("u1", Role::Admin, None).unwrap();
        shift.advance(chrono::Duration::seconds(59));
        assert!(keys.verify(&token).is_ok());
        shift.advance(chrono::Duration::seconds(2));
        assert!(matches!(keys.verify(&token), Err(ApiError::Unauthorized(message)) if message.contains("expired")));
    }
}
