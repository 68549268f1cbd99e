//! A village to test in: an admin, a landlord with an apartment block, the village's inspector and auditor.

use serde_json::Value;

use super::{Answer, Backend, JsonExt, Session, SmtpServer, TestApp};

/// The local date `days_from_today` days from today, as the API writes dates.
pub fn date(days_from_today: i64) -> String {
    (anzu::ids::today() + chrono::Duration::days(days_from_today)).to_string()
}

pub struct Scene {
    pub app: TestApp,
    pub admin: Session,
    pub landlord: Session,
    pub inspector: Session,
    pub auditor: Session,
    pub village_id: String,
    /// The landlord's apartment block.
    pub property: Value,
}

impl Scene {
    pub async fn new(backend: Backend) -> Scene {
        Self::with(backend, &[]).await
    }

    /// Mail goes to `smtp` when given, else to files in the outbox folder.
    pub async fn mailing_to(backend: Backend, smtp: Option<&SmtpServer>) -> Scene {
        match smtp {
            Some(smtp) => Self::with(backend, &[("ANZU_SMTP_URL", &smtp.url())]).await,
            None => Self::new(backend).await,
        }
    }

    /// With extra `ANZU_*` settings.
    pub async fn with(backend: Backend, settings: &[(&str, &str)]) -> Scene {
        let app = TestApp::start_with(backend, settings).await;
        let v = app.setup_village().await;
        let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
        let inspector = app.user(&v.admin, "inspector", Some(&v.id)).await;
        let auditor = app.user(&v.admin, "auditor", Some(&v.id)).await;
        let property = app.property(&landlord, &v.id).await;
        Scene {
            app,
            admin: v.admin,
            landlord,
            inspector,
            auditor,
            village_id: v.id,
            property,
        }
    }

    pub fn pid(&self) -> &str {
        self.property.id()
    }

    /// The block's registration code.
    pub fn code(&self) -> &str {
        self.property.str("registration_code")
    }

    /// A result for every checklist item of an apartment block, passing except `failing`.
    pub async fn results(&self, failing: &[&str]) -> Vec<Value> {
        self.app.results(&self.inspector, "apartment", failing).await
    }

    /// The inspector inspects the block on `on`, failing the named items; the inspection.
    pub async fn inspect(&self, on: &str, failing: &[&str]) -> Value {
        self.inspect_property(self.pid(), on, failing).await
    }

    /// The inspector inspects another apartment block; the inspection.
    pub async fn inspect_property(&self, property_id: &str, on: &str, failing: &[&str]) -> Value {
        self.app
            .inspect(&self.inspector, property_id, "apartment", on, failing)
            .await
            .expect(201)
            .body
    }

    /// `by` inspects the block; the answer, whatever its status.
    pub async fn inspect_as(&self, by: &Session, on: &str, failing: &[&str]) -> Answer {
        self.app.inspect(by, self.pid(), "apartment", on, failing).await
    }

    /// The block as its landlord sees it now.
    pub async fn property_now(&self) -> Value {
        self.app
            .get(
                &format!("/api/v1/properties/{}", self.pid()),
                Some(&self.landlord.token),
            )
            .await
            .expect(200)
            .body
    }

    /// The notices the admin can list, `query` appended (`&status=queued`, say).
    pub async fn notices(&self, query: &str) -> Vec<Value> {
        let body = self
            .app
            .get(&format!("/api/v1/notices?limit=200{query}"), Some(&self.admin.token))
            .await
            .expect(200)
            .body;
        body.array("items").clone()
    }

    /// The village's summary, as its auditor reads it.
    pub async fn summary(&self) -> Value {
        self.app
            .get(
                &format!("/api/v1/reports/summary?village_id={}", self.village_id),
                Some(&self.auditor.token),
            )
            .await
            .expect(200)
            .body
    }

    /// Runs the compliance sweep as if today were `day`; what it did.
    pub async fn sweep_on(&self, day: chrono::NaiveDate) -> anzu::compliance::SweepReport {
        let settings = self.app.state.settings.clone();
        self.app
            .db
            .write(move |conn| anzu::compliance::run(conn, &settings, day))
            .await
            .unwrap()
    }
}
