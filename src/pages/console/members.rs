//! Members and staff (`/console/members`): admins see everyone, auditors their village and only read. Landlords
//! come first, those waiting for approval on top. An admin decides a landlord's membership with the moves the
//! state machine allows from its status, and deactivates or activates staff, each with a reason; every form goes
//! through the API's own service (`accounts::service`), carrying the row's version as the API's `If-Match`.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

use super::session::Current;
use crate::accounts::model::{
    MembershipAction, MembershipRequest, MembershipStatus, ReasonRequest, UserFilter, UserRow,
};
use crate::accounts::{repo, service};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::Page;
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::state::AppState;

/// How many users the page lists at most (those awaiting approval always among them).
const LISTED: i64 = 500;

/// The page's query: its filters, and what a form just did.
#[derive(Deserialize, Default)]
pub struct MembersQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    done: String,
}

/// A refused form, shown again: the user and form it was (`approve`…, or `active`), the reason typed, and the
/// error beside the reason field or above the list.
struct Refused {
    user_id: String,
    form: String,
    reason: String,
    field_error: Option<String>,
    above: Option<Value>,
}

pub async fn page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<MembersQuery>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    super::respond(render(&state, &current, &query, None).await, StatusCode::OK)
}

/// The filter the page's query asks for; an unknown value filters nothing.
fn filter_of(query: &MembersQuery) -> UserFilter {
    UserFilter {
        role: query.role.parse().ok(),
        membership_status: query.status.parse().ok(),
        village_id: None,
        training: None,
    }
}

async fn render(
    state: &AppState,
    current: &Current,
    query: &MembersQuery,
    refused: Option<&Refused>,
) -> Result<String, ApiError> {
    current.caller.require(&[Role::Admin, Role::Auditor])?;
    let filter = filter_of(query);
    let caller = current.caller.clone();
    let Listed { users, villages, more } = state.db.read(move |conn| members(conn, &caller, &filter)).await?;
    let can_act = current.caller.is_admin();
    let (landlords, staff): (Vec<Value>, Vec<Value>) = users
        .iter()
        .map(|user| {
            let mut shown = user_row(user, villages.get(user.village_id.as_deref().unwrap_or_default()));
            if can_act {
                shown["forms"] = json!(forms(user, &current.caller, refused));
                shown["open"] = json!(refused.is_some_and(|r| r.user_id == user.id));
            }
            shown
        })
        .partition(|shown| shown["landlord"] == json!(true));
    let options = |values: Vec<(&str, Value)>, chosen: &str| -> Vec<Value> {
        values
            .into_iter()
            .map(|(value, words)| json!({"value": value, "words": words, "selected": value == chosen}))
            .collect()
    };
    let statuses = MembershipStatus::ALL
        .iter()
        .map(|s| (s.as_str(), status_words(*s)))
        .collect();
    let roles = Role::ALL.iter().map(|r| (r.as_str(), super::role_words(*r))).collect();
    let context = json!({
        "landlords": landlords,
        "staff": staff,
        "more": more,
        "statuses": options(statuses, &query.status),
        "roles": options(roles, &query.role),
        "done": done_words(&query.done),
        "refused": refused.and_then(|r| r.above.clone()),
    });
    crate::pages::render(
        "console_members.html",
        super::page_context(current, "/console/members", context),
    )
}

/// The users a page lists, the names of their villages by id, and whether more users matched.
struct Listed {
    users: Vec<UserRow>,
    villages: HashMap<String, String>,
    more: bool,
}

/// The users the caller may see under `filter` (the API's scope: an auditor's village), landlords first and those
/// awaiting approval on top; the villages' names by id; whether more users matched than are listed.
fn members(conn: &mut Conn, caller: &Caller, filter: &UserFilter) -> Result<Listed, ApiError> {
    let page = Page {
        limit: LISTED,
        after: None,
        updated_since: None,
    };
    // Those awaiting approval, read first so that a long list never leaves them out.
    let pending_wanted = filter.role.is_none_or(|r| r == Role::Landlord)
        && filter.membership_status.is_none_or(|s| s == MembershipStatus::Pending);
    let mut users = Vec::new();
    if pending_wanted {
        let pending = UserFilter {
            role: Some(Role::Landlord),
            membership_status: Some(MembershipStatus::Pending),
            village_id: None,
            training: None,
        };
        users = repo::list(conn, caller, &pending, &page)?;
    }
    let seen: HashSet<String> = users.iter().map(|u| u.id.clone()).collect();
    let others = repo::list(conn, caller, filter, &page)?;
    users.extend(others.into_iter().filter(|u| !seen.contains(&u.id)));
    let more = users.len() > LISTED as usize;
    users.truncate(LISTED as usize);
    users.sort_by_key(|u| {
        (
            u.role != Role::Landlord,
            u.membership_status != MembershipStatus::Pending,
        )
    });
    // The whole town's villages, named for an admin; an auditor's list is their own village.
    let villages = if caller.is_admin() {
        crate::villages::repo::list(conn, &page)?
            .into_iter()
            .map(|v| (v.id, v.name))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(Listed { users, villages, more })
}

/// A user as the page shows them.
fn user_row(user: &UserRow, village: Option<&String>) -> Value {
    json!({
        "id": user.id, "full_name": user.full_name, "email": user.email, "phone": user.phone,
        "role": super::role_words(user.role), "role_key": user.role, "landlord": user.role == Role::Landlord,
        "status_key": user.membership_status, "status": status_words(user.membership_status),
        "active": user.active, "version": user.version, "village": village,
        "forms": [], "open": false,
    })
}

/// An admin's forms for a user, each with a reason: a landlord's decisions, one per move the state machine allows
/// from their status; a staff member's deactivation (or activation), never one's own.
fn forms(user: &UserRow, caller: &Caller, refused: Option<&Refused>) -> Vec<Value> {
    let mut forms: Vec<Value> = Vec::new();
    if user.role == Role::Landlord {
        for action in MembershipAction::ALL {
            if user.membership_status.after(*action).is_some() {
                let (zh, en) = action_words(*action);
                forms.push(
                    json!({"kind": "membership", "key": action, "field": "action", "value": action,
                                  "zh": zh, "en": en}),
                );
            }
        }
    } else if user.id != caller.user_id {
        let (zh, en) = if user.active {
            ("停用账号", "Deactivate")
        } else {
            ("启用账号", "Activate")
        };
        let value = if user.active { "false" } else { "true" };
        forms.push(json!({"kind": "active", "key": "active", "field": "active", "value": value, "zh": zh, "en": en}));
    }
    for form in &mut forms {
        let mine = refused.filter(|r| r.user_id == user.id && form["key"] == json!(r.form));
        form["reason"] = json!(mine.map(|r| r.reason.as_str()).unwrap_or_default());
        form["error"] = json!(mine.and_then(|r| r.field_error.as_deref()));
    }
    forms
}

/// A membership status in plain words.
fn status_words(status: MembershipStatus) -> Value {
    let (zh, en) = match status {
        MembershipStatus::Pending => ("待审批", "awaiting approval"),
        MembershipStatus::Active => ("正式会员", "member"),
        MembershipStatus::Suspended => ("会籍暂停", "suspended"),
        MembershipStatus::Expelled => ("已除名", "expelled"),
    };
    json!({"zh": zh, "en": en})
}

fn action_words(action: MembershipAction) -> (&'static str, &'static str) {
    match action {
        MembershipAction::Approve => ("批准入会", "Approve"),
        MembershipAction::Suspend => ("暂停会籍", "Suspend"),
        MembershipAction::Reinstate => ("恢复会籍", "Reinstate"),
        MembershipAction::Expel => ("除名", "Expel"),
    }
}

/// What the page confirms after a form, by the `done` its address carries.
fn done_words(done: &str) -> Value {
    let (zh, en) = match done {
        "approve" => ("已批准入会。", "The membership is approved."),
        "suspend" => ("会籍已暂停。", "The membership is suspended."),
        "reinstate" => ("会籍已恢复。", "The membership is reinstated."),
        "expel" => ("已除名。", "The member is expelled."),
        "deactivated" => (
            "账号已停用，已在各处退出登录。",
            "The account is deactivated and signed out everywhere.",
        ),
        "activated" => ("账号已启用。", "The account is active again."),
        _ => return Value::Null,
    };
    json!({"zh": zh, "en": en})
}

#[derive(Deserialize)]
pub struct MembershipForm {
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct ActiveForm {
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    reason: String,
}

/// The API's `If-Match` from a form's hidden version: a version, or one that matches nothing.
fn if_match(version: &str) -> IfMatch {
    version.trim().parse().map_or(IfMatch::Foreign, IfMatch::Version)
}

/// The request's field rules, as the API's JSON extractor runs them.
fn validated<T: Validate>(request: T) -> Result<T, ApiError> {
    request.validate().map_err(ApiError::from)?;
    Ok(request)
}

/// Decides a landlord's membership with the API's service; back to the list, or the list again with the refusal.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<MembershipForm>, actix_web::Error>,
) -> HttpResponse {
    let (current, form) = match super::posted(&req, &state, form, |f: &MembershipForm| &f.csrf).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let user_id = id.into_inner();
    let decided = async {
        let action: MembershipAction = form
            .action
            .parse()
            .map_err(|_| ApiError::invalid("action", "unknown", "choose a decision"))?;
        let request = validated(MembershipRequest {
            action,
            reason: crate::validation::to_nfc(form.reason.clone()),
        })?;
        let (caller, id, if_match) = (current.caller.clone(), user_id.clone(), if_match(&form.version));
        state
            .db
            .write(move |conn| service::change_membership(conn, &caller, &id, if_match, request))
            .await?;
        Ok::<_, ApiError>(action)
    };
    match decided.await {
        Ok(action) => super::see_other(&format!("/console/members?done={action}")),
        Err(err) => refused(&state, &current, user_id, form.action, form.reason, err).await,
    }
}

/// Deactivates or activates a user with the API's own function (which ends a deactivated user's sessions and
/// tokens at once); back to the list, or the list again with the refusal.
pub async fn set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<ActiveForm>, actix_web::Error>,
) -> HttpResponse {
    let (current, form) = match super::posted(&req, &state, form, |f: &ActiveForm| &f.csrf).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let user_id = id.into_inner();
    let changed = async {
        let active: bool = form
            .active
            .parse()
            .map_err(|_| ApiError::invalid("active", "unknown", "must be true or false"))?;
        let request = validated(ReasonRequest {
            reason: crate::validation::to_nfc(form.reason.clone()),
        })?;
        let caller = current.caller.clone();
        service::change_active(
            &state,
            caller,
            user_id.clone(),
            if_match(&form.version),
            request.reason,
            active,
        )
        .await?;
        Ok::<_, ApiError>(active)
    };
    match changed.await {
        Ok(true) => super::see_other("/console/members?done=activated"),
        Ok(false) => super::see_other("/console/members?done=deactivated"),
        Err(err) => refused(&state, &current, user_id, "active".into(), form.reason, err).await,
    }
}

/// The list again after a refusal, with the API's status: a field error beside the reason (422), a conflict or a
/// stale version above the list (409, 412); anything else (a role refused, no such user) as an error page.
async fn refused(
    state: &AppState,
    current: &Current,
    user_id: String,
    form: String,
    reason: String,
    err: ApiError,
) -> HttpResponse {
    let status = err.status_code();
    let (field_error, above) = match &err {
        ApiError::Validation(fields) => {
            let beside = fields.iter().find(|f| f.field == "reason").map(|f| f.message.clone());
            let other = fields.iter().find(|f| f.field != "reason");
            let above = other.map(|f| json!({"zh": "表单有误。", "en": format!("{}: {}", f.field, f.message)}));
            (beside, above)
        }
        other => match super::conflict_words(other) {
            Some(words) => (None, Some(words)),
            None => return crate::pages::error_page(err),
        },
    };
    let refused = Refused {
        user_id,
        form,
        reason,
        field_error,
        above,
    };
    let page = render(state, current, &MembersQuery::default(), Some(&refused)).await;
    super::respond(page, status)
}
