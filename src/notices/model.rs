//! Notices as stored and as answered.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::notices;
use crate::text_enum;
use validator::Validate;

text_enum! {
    /// What a notice is about; each kind has its template.
    pub enum NoticeKind {
        MembershipChanged => "membership_changed",
        InspectionResult => "inspection_result",
        RectificationDueSoon => "rectification_due_soon",
        RectificationOverdue => "rectification_overdue",
        DeclarationLate => "declaration_late",
        Overcrowding => "overcrowding",
        RatingExpiring => "rating_expiring",
        PropertyDelisted => "property_delisted",
        AccountInvitation => "account_invitation",
        PasswordReset => "password_reset",
        AppealLodged => "appeal_lodged",
        AppealDecided => "appeal_decided",
        TrainingExpiring => "training_expiring",
    }
}

text_enum! {
    /// Where a notice is in delivery.
    pub enum NoticeStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = notices, treat_none_as_default_value = false)]
pub struct NoticeRow {
    pub id: String,
    pub kind: NoticeKind,
    pub recipient_id: String,
    pub recipient_email: String,
    pub property_id: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: NoticeStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub dedupe_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// A one-time link sealed under the data key (see `notices::sealed`), put into the body at delivery.
    pub sealed_link: Option<String>,
}

/// A notice as the API shows it (the bodies are not listed; they are what was sent).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    pub id: String,
    pub kind: NoticeKind,
    pub recipient_id: String,
    pub recipient_email: String,
    pub property_id: Option<String>,
    pub subject: String,
    pub status: NoticeStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = crate::error::ApiError;
    fn try_from(row: NoticeRow) -> Result<Self, Self::Error> {
        let status: NoticeStatus = row.status;
        Ok(Notice {
            kind: row.kind,
            next_attempt_at: (status == NoticeStatus::Queued).then(|| row.next_attempt_at.and_utc()),
            status,
            id: row.id,
            recipient_id: row.recipient_id,
            recipient_email: row.recipient_email,
            property_id: row.property_id,
            subject: row.subject,
            attempts: row.attempts,
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct NoticeFilter {
    pub status: Option<NoticeStatus>,
    pub kind: Option<NoticeKind>,
}
