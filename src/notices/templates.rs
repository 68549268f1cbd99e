//! Notice templates: one file per kind under `templates/`, compiled into the binary and rendered with
//! minijinja into a subject, a plain-text body and an HTML body.

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use crate::error::ApiError;
use crate::notices::model::NoticeKind;

/// A notice as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("_macros.j2", include_str!("templates/_macros.j2")),
    ("membership_changed", include_str!("templates/membership_changed.j2")),
    ("inspection_result", include_str!("templates/inspection_result.j2")),
    (
        "rectification_due_soon",
        include_str!("templates/rectification_due_soon.j2"),
    ),
    (
        "rectification_overdue",
        include_str!("templates/rectification_overdue.j2"),
    ),
    ("declaration_late", include_str!("templates/declaration_late.j2")),
    ("overcrowding", include_str!("templates/overcrowding.j2")),
    ("rating_expiring", include_str!("templates/rating_expiring.j2")),
    ("property_delisted", include_str!("templates/property_delisted.j2")),
    ("account_invitation", include_str!("templates/account_invitation.j2")),
    ("password_reset", include_str!("templates/password_reset.j2")),
    ("appeal_lodged", include_str!("templates/appeal_lodged.j2")),
    ("appeal_decided", include_str!("templates/appeal_decided.j2")),
    ("training_expiring", include_str!("templates/training_expiring.j2")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests; a broken one is a build defect.
            env.add_template(name, source).expect("notice templates parse");
        }
        env
    })
}

/// Renders the notice of `kind` with its context.
pub fn render(kind: NoticeKind, context: impl Serialize) -> Result<Rendered, ApiError> {
    let fail = |e: minijinja::Error| ApiError::internal(anyhow::anyhow!("rendering the {kind} notice failed: {e:#}"));
    let template = environment().get_template(kind.as_str()).map_err(fail)?;
    let mut captured = template.render_captured(context).map_err(fail)?;
    let mut block = |name: &str| {
        captured
            .with_state_mut(|state| state.render_block(name))
            .map(|s| s.trim().to_owned())
            .map_err(fail)
    };
    Ok(Rendered {
        subject: block("subject")?.replace('\n', " "),
        text: block("text")?,
        html: block("html")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> serde_json::Value {
        json!({
            "recipient": {"full_name": "陈房东", "phone": "13800138000"},
            "property": {"registration_code": "HTK-000123", "name": "陈氏出租楼", "address": "中路12号"},
            "from": "active", "to": "suspended", "action": "suspend", "reason": "未按期整改",
            "inspected_on": "2026-11-28", "score": 72, "stars": 2, "valid_until": "2027-05-28",
            "previous_stars": 4, "change": "lowered", "decision": "upheld", "appeal_reason": "灭火器当日在检修",
            "items": [{"code": "ESC-01", "title_zh": "疏散通道畅通", "title_en": "Escape routes clear",
                       "severity": "critical", "due_on": "2026-11-29"}],
            "suspended": true, "unit_label": "301", "tenant_name": "李四", "move_in_date": "2026-11-01",
            "declared_on": "2026-11-20", "deadline_days": 3, "area_m2": 6.0, "active_tenants": 3, "max_occupants": 1,
            "link": "https://anzu.example/set-password?token=abc", "expires_on": "2026-12-06", "expires_at": "2026-12-06 10:30 (UTC+8)",
            "held_on": "2024-12-28", "title": "出租房消防安全培训",
        })
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        for kind in NoticeKind::ALL {
            let rendered = render(*kind, context()).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(
                !rendered.subject.is_empty() && !rendered.subject.contains('\n'),
                "{kind}"
            );
            assert!(
                rendered.subject.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{kind}: Chinese subject"
            );
            assert!(
                rendered.subject.contains(" / "),
                "{kind}: English subject after the Chinese"
            );
            assert!(
                rendered.text.contains("您好") && rendered.text.contains("Dear"),
                "{kind}: {}",
                rendered.text
            );
            assert!(
                rendered.text.find("您好") < rendered.text.find("Dear"),
                "{kind}: Chinese first"
            );
            assert!(rendered.html.contains("陈房东"), "{kind}");
            let property_kind = !matches!(
                kind,
                NoticeKind::MembershipChanged
                    | NoticeKind::AccountInvitation
                    | NoticeKind::PasswordReset
                    | NoticeKind::TrainingExpiring
            );
            assert_eq!(
                rendered.subject.starts_with("[HTK-000123] "),
                property_kind,
                "{kind}: {}",
                rendered.subject
            );
        }
    }

    #[test]
    fn orders_name_items_deadlines_and_consequences() {
        let rendered = render(NoticeKind::RectificationOverdue, context()).unwrap();
        assert!(rendered.text.contains("ESC-01") && rendered.text.contains("2026-11-29"));
        assert!(rendered.text.contains("suspended until it is fixed"));
        assert!(rendered.html.contains("<b>ESC-01</b>"));
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let mut ctx = context();
        ctx["reason"] = json!("<script>x</script>");
        let rendered = render(NoticeKind::MembershipChanged, ctx).unwrap();
        assert!(rendered.html.contains("&lt;script&gt;") && !rendered.html.contains("<script>"));
    }
}
