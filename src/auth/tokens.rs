//! Access tokens: short-lived HS256 JWTs naming the user, their role, village and session.

use std::cell::RefCell;
use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thread_local::ThreadLocal;

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
    /// The tokens each server thread verified lately, by their exact text, with what they say and when they
    /// expire: a client sends the same token with every request for its lifetime, and checking its signature
    /// and parsing its claims again was 7% of a point read's CPU (docs/performance.md). Only a token
    /// byte-for-byte equal to one these keys verified is found here, so a hit proves what a verification
    /// would; expiry is still checked at every use, and revocation by the caller as before.
    verified: ThreadLocal<RefCell<Verified>>,
}

/// Verified tokens by their text: the caller each names, and when it expires.
type Verified = HashMap<Box<str>, (Caller, i64)>;

/// How many verified tokens a thread keeps; when full it forgets them all (an attack with many valid tokens
/// costs the verifications it would cost anyway).
const VERIFIED_PER_THREAD: usize = 1024;

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
            verified: ThreadLocal::new(),
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
        let verified = self.verified.get_or(Default::default);
        let known = verified.borrow().get(token).cloned();
        let (caller, exp) = match known {
            Some(known) => known,
            None => {
                let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| ApiError::Unauthorized("The access token is not valid.".into()))?;
                let claims = data.claims;
                let caller = Caller {
                    user_id: claims.sub,
                    role: claims.role,
                    village_id: claims.village_id,
                    session_id: claims.sid,
                };
                let mut verified = verified.borrow_mut();
                if verified.len() >= VERIFIED_PER_THREAD {
                    verified.clear();
                }
                verified.insert(token.into(), (caller.clone(), claims.exp));
                (caller, claims.exp)
            }
        };
        // Expiry is checked here, against `clock`, with no leeway, at every use.
        if exp < self.now_secs() {
            return Err(ApiError::Unauthorized("The access token has expired.".into()));
        }
        Ok(caller)
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

    /// A remembered token is found only by its exact text, only by the keys that verified it.
    #[test]
    fn remembered_tokens_prove_nothing_about_other_text_or_keys() {
        let keys = TokenKeys::new(SECRET, 60).unwrap();
        let token = keys.issue("u1", Role::Admin, None).unwrap();
        assert!(keys.verify(&token).is_ok());
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        // A character that differs in the signature's bits, not only in the two unused last ones.
        forged.push(if last == 'A' { 'Q' } else { 'A' });
        assert!(matches!(keys.verify(&forged), Err(ApiError::Unauthorized(_))));
        let other = TokenKeys::new(b"another-secret-another-secret-123", 60).unwrap();
        assert!(matches!(other.verify(&token), Err(ApiError::Unauthorized(_))));
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn a_thread_remembers_a_bounded_number_of_tokens() {
        let keys = TokenKeys::new(SECRET, 60).unwrap();
        for n in 0..=VERIFIED_PER_THREAD {
            let token = keys.issue(&format!("u{n}"), Role::Landlord, None).unwrap();
            assert_eq!(keys.verify(&token).unwrap().user_id, format!("u{n}"));
            let kept = keys.verified.get().unwrap().borrow().len();
            assert!((1..=VERIFIED_PER_THREAD).contains(&kept), "{kept}");
        }
    }
}
