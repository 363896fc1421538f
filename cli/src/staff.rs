//! The kindergarten's side of the demo: a member of staff logs in through the same
//! `/v1/auth/code` + `/v1/auth/token` endpoints as a parent (reading the code from the demo
//! server's outbox) and calls the staff endpoints over plain HTTP. Nothing here goes through
//! the core: the core is the parent's app.

use anyhow::{Context, Result, bail};
use kidplan_api::auth::{RequestCode, Session, VerifyCode};
use kidplan_api::model::{Absence, Attendance, Child, Message};
use kidplan_api::paths;
use kidplan_api::staff::{AttendanceAction, RecordAttendance, StaffMessage};
use kidplan_server::RunningServer;
use serde_json::json;

/// A logged-in member of staff.
pub struct Staff {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Staff {
    /// Logs `contact` in as staff, reading the one-time code from the server's outbox.
    pub async fn login(server: &RunningServer, contact: &str) -> Result<Staff> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let base = server.base_url();
        let r = http
            .post(format!("{base}{}", paths::AUTH_CODE))
            .json(&RequestCode {
                contact: contact.to_owned(),
            })
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("asking for a staff login code failed: HTTP {}", r.status());
        }
        let code = server
            .last_login_code(contact)
            .context("no staff login code in the server's outbox")?;
        let r = http
            .post(format!("{base}{}", paths::AUTH_TOKEN))
            .json(&VerifyCode {
                contact: contact.to_owned(),
                code,
            })
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("staff login failed: HTTP {}", r.status());
        }
        let session: Session = r.json().await?;
        Ok(Staff {
            http,
            base,
            token: session.access_token,
        })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T> {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(path, request).await
    }

    /// Sends `request` with the staff session; anything but a success is an error naming `path`.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T> {
        let r = request.bearer_auth(&self.token).send().await?;
        let status = r.status();
        if !status.is_success() {
            bail!("{path}: HTTP {status}");
        }
        Ok(r.json().await?)
    }

    /// `POST /v1/staff/absences/{id}/acknowledge`.
    pub async fn acknowledge_absence(&self, id: &str) -> Result<Absence> {
        self.post(
            &paths::fill(paths::STAFF_ABSENCE_ACK, &[("id", id)]),
            json!({}),
        )
        .await
    }

    /// `POST /v1/staff/attendance/{child_id}`: checks a child in at the door.
    pub async fn check_in(&self, child_id: &str) -> Result<Attendance> {
        let body = serde_json::to_value(RecordAttendance {
            action: AttendanceAction::CheckIn,
        })?;
        self.post(
            &paths::fill(paths::STAFF_ATTENDANCE, &[("child_id", child_id)]),
            body,
        )
        .await
    }

    /// `PUT /v1/staff/children/{child_id}/picture`: a child's profile picture (a 1×1 PNG
    /// here); needs the child's photo consent.
    pub async fn set_child_picture(&self, child_id: &str) -> Result<Child> {
        const PNG: [u8; 69] = [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
            0x00, 0x90, 0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0xF8, 0x7A, 0x40, 0x0B, 0x00, 0x04, 0x8D, 0x01, 0xE0, 0x60, 0xCB, 0x68,
            0x38, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        let path = paths::fill(paths::STAFF_CHILD_PICTURE, &[("child_id", child_id)]);
        let request = self
            .http
            .put(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "image/png")
            .body(PNG.to_vec());
        self.send(&path, request).await
    }

    /// `POST /v1/staff/events`: an event for the whole kindergarten.
    pub async fn create_event(
        &self,
        title: &str,
        starts_at: kidplan_api::Timestamp,
        ends_at: kidplan_api::Timestamp,
    ) -> Result<kidplan_api::model::CalendarEvent> {
        let body = serde_json::to_value(kidplan_api::staff::CreateEvent {
            department_id: None,
            title: title.to_owned(),
            description: None,
            starts_at,
            ends_at,
            registration_deadline: None,
        })?;
        self.post(paths::STAFF_EVENTS, body).await
    }

    /// `POST /v1/staff/threads/{id}/messages`.
    pub async fn answer(&self, thread_id: &str, body: &str) -> Result<Message> {
        let body = serde_json::to_value(StaffMessage {
            body: body.to_owned(),
        })?;
        self.post(
            &paths::fill(paths::STAFF_THREAD_MESSAGES, &[("id", thread_id)]),
            body,
        )
        .await
    }
}
