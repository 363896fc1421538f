//! Staff roles and departments: every staff endpoint, tried by every role from every
//! department (and by a guardian and by staff of another kindergarten) against targets in
//! each department, the whole kindergarten and another kindergarten.
//!
//! The routes are read from the server's source (`app.rs`, `paths.rs`) and from the OpenAPI
//! document: a new staff route without a case here (and a rule in the server) fails this test.
//! The expected outcome comes from this file's own copy of the README's permission matrix,
//! not from the server's table.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Where a request's target lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Something of department 0 (Blåbær).
    DepA,
    /// Something of department 1.
    DepB,
    /// The kindergarten as a whole.
    Kindergarten,
    /// Something of another kindergarten.
    Elsewhere,
}

/// A member of staff (or a guardian) trying the endpoints.
#[derive(Clone, Copy, Debug)]
struct Who {
    name: &'static str,
    contact: &'static str,
    /// `manager`, `teacher`, `assistant`; `guardian` for a parent.
    role: &'static str,
    /// `None`: the whole kindergarten.
    department: Option<Place>,
}

const PEOPLE: [Who; 7] = [
    Who {
        name: "manager",
        contact: demo::STAFF_EMAIL,
        role: "manager",
        department: None,
    },
    Who {
        name: "teacher of A",
        contact: "+4792000002",
        role: "teacher",
        department: Some(Place::DepA),
    },
    Who {
        name: "assistant of A",
        contact: "+4792000003",
        role: "assistant",
        department: Some(Place::DepA),
    },
    Who {
        name: "teacher of B",
        contact: "+4792000005",
        role: "teacher",
        department: Some(Place::DepB),
    },
    Who {
        name: "assistant of B",
        contact: "+4792000006",
        role: "assistant",
        department: Some(Place::DepB),
    },
    Who {
        name: "assistant without a department",
        contact: "+4792000008",
        role: "assistant",
        department: None,
    },
    Who {
        name: "guardian",
        contact: demo::GUARDIAN_EMAIL,
        role: "guardian",
        department: None,
    },
];

/// The README's matrix: may `role` do `action` at all?
fn may(role: &str, action: &str) -> bool {
    match role {
        "manager" => true,
        "teacher" => !matches!(action, "privacy" | "erase" | "send_queue"),
        "assistant" => matches!(
            action,
            "log" | "message" | "check_in" | "acknowledge" | "photo" | "child_picture" | "own_info"
        ),
        _ => false,
    }
}

/// What `who` must get for `action` on something at `place`.
fn expected(who: &Who, action: &str, place: Place) -> Expect {
    if !may(who.role, action) {
        return Expect::Status(403);
    }
    if action == "own_info" {
        // One's own text: no place to be outside of.
        return Expect::Allowed;
    }
    if place == Place::Elsewhere {
        return Expect::Status(404);
    }
    match (who.department, place) {
        (None, _) => Expect::Allowed,
        (Some(mine), p) if mine == p => Expect::Allowed,
        _ => Expect::Status(403),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 2xx, or 409 when the state forbids it (already checked in, ...).
    Allowed,
    Status(u16),
}

/// Ids of things in each place, read from the seeded database or made for the test.
struct Things {
    child: [String; 3],
    department: [String; 2],
    thread: [String; 4],
    absence: [String; 3],
    /// A guardian–child link of each child.
    relation: [String; 3],
    privacy_request: String,
}

fn idx(p: Place) -> usize {
    match p {
        Place::DepA => 0,
        Place::DepB => 1,
        Place::Kindergarten => 3,
        Place::Elsewhere => 2,
    }
}

fn one(conn: &Connection, sql: &str, param: &str) -> String {
    conn.query_row(sql, [param], |r| r.get(0)).expect(sql)
}

async fn things(h: &Harness) -> Things {
    let conn = Connection::open(h.server.db_path()).expect("db");
    let deps = [demo::DEPARTMENT_IDS[0], demo::DEPARTMENT_IDS[1]];
    let child_of = |d: &str| {
        one(
            &conn,
            "SELECT id FROM children WHERE department_id = ?1 ORDER BY id LIMIT 1",
            d,
        )
    };
    let elsewhere = one(
        &conn,
        "SELECT id FROM children WHERE kindergarten_id = ?1 ORDER BY id LIMIT 1",
        demo::SECOND_KINDERGARTEN_ID,
    );
    let child = [child_of(deps[0]), child_of(deps[1]), elsewhere];
    let manager = h.staff().await;
    let other_manager = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    let mut thread = Vec::new();
    for (i, c) in child.iter().enumerate() {
        let tok = if i == 2 { &other_manager } else { &manager };
        let r = h
            .post(
                "/v1/staff/threads",
                tok,
                json!({"child_id": c, "subject": "s", "body": "b"}),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        thread.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let r = h
        .post(
            "/v1/staff/broadcasts",
            &manager,
            json!({"department_id": null, "subject": "s", "body": "b", "urgent": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    thread.push(r.body["id"].as_str().expect("id").to_owned());
    // Absences as their guardians would have reported them (written straight to the file).
    let mut absence = Vec::new();
    for c in &child {
        let id = new_id();
        let guardian = one(
            &conn,
            "SELECT guardian_id FROM guardian_children WHERE child_id = ?1 LIMIT 1",
            c,
        );
        conn.execute(
            "INSERT INTO absences (id, child_id, first_day, last_day, reason, note, status, reported_by)
             VALUES (?1, ?2, '2030-01-01', '2030-01-01', 'sick', NULL, 'reported', ?3)",
            [&id, c, &guardian],
        )
        .expect("absence");
        absence.push(id);
    }
    let relation: Vec<String> = child
        .iter()
        .map(|c| {
            one(
                &conn,
                "SELECT id FROM guardian_children WHERE child_id = ?1 ORDER BY id LIMIT 1",
                c,
            )
        })
        .collect();
    let kari = h.guardian().await;
    let privacy_request = new_id();
    let r = h
        .command(
            Method::POST,
            "/v1/privacy-requests",
            &kari,
            Some(json!({"id": privacy_request, "right": "access", "note": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    Things {
        child,
        department: [deps[0].to_owned(), deps[1].to_owned()],
        thread: thread.try_into().expect("4 threads"),
        absence: absence.try_into().expect("3 absences"),
        relation: relation.try_into().expect("3 relations"),
        privacy_request,
    }
}

/// One request: method, path with query, JSON body or raw upload.
struct Call {
    method: Method,
    path: String,
    json: Option<Value>,
    upload: Option<(&'static str, Vec<u8>)>,
}

fn post(path: String, body: Value) -> Call {
    Call {
        method: Method::POST,
        path,
        json: Some(body),
        upload: None,
    }
}

/// The action of a route (as the matrix names it) and the places it can be tried at.
fn route_case(method: &str, path: &str) -> Option<(&'static str, &'static [Place])> {
    use Place::*;
    const CHILDREN: &[Place] = &[DepA, DepB, Elsewhere];
    const DEPARTMENTS: &[Place] = &[DepA, DepB, Kindergarten, Elsewhere];
    const WHOLE: &[Place] = &[Kindergarten, Elsewhere];
    Some(match (method, path) {
        ("POST", "/v1/staff/log-entries") => ("log", CHILDREN),
        ("POST", "/v1/staff/threads") => ("message", CHILDREN),
        ("POST", "/v1/staff/threads/{id}/messages") => ("message", DEPARTMENTS),
        ("POST", "/v1/staff/broadcasts") => ("broadcast", &[DepA, DepB, Kindergarten]),
        ("POST", "/v1/staff/events") => ("calendar", &[DepA, DepB, Kindergarten]),
        ("POST", "/v1/staff/attendance/{child_id}") => ("check_in", CHILDREN),
        ("POST", "/v1/staff/absences/{id}/acknowledge") => ("acknowledge", CHILDREN),
        ("POST", "/v1/staff/photos") => ("photo", CHILDREN),
        ("POST", "/v1/staff/documents") => ("document", DEPARTMENTS),
        ("GET", "/v1/staff/privacy-requests") => ("privacy", &[Kindergarten]),
        ("POST", "/v1/staff/privacy-requests/{id}/handle") => ("privacy", &[Kindergarten]),
        ("POST", "/v1/staff/erasures") => ("erase", WHOLE),
        ("GET", "/v1/staff/send-queue") => ("send_queue", &[Kindergarten]),
        ("PUT", "/v1/staff/relations/{id}/parental-responsibility") => ("responsibility", CHILDREN),
        ("PUT", "/v1/staff/me/info") => ("own_info", &[Kindergarten]),
        ("PUT", "/v1/staff/me/picture") | ("DELETE", "/v1/staff/me/picture") => {
            ("own_info", &[Kindergarten])
        }
        ("PUT", "/v1/staff/children/{child_id}/picture")
        | ("DELETE", "/v1/staff/children/{child_id}/picture") => ("child_picture", CHILDREN),
        _ => return None,
    })
}

/// The request of a route aimed at a place.
fn call_for(method: &str, path: &str, place: Place, t: &Things) -> Call {
    let i = idx(place);
    let child = || t.child[i.min(2)].clone();
    let department = || match place {
        Place::DepA | Place::DepB => json!(t.department[i]),
        _ => Value::Null,
    };
    match (method, path) {
        ("POST", "/v1/staff/log-entries") => post(
            path.into(),
            json!({"child_id": child(), "kind": "note", "text": "t"}),
        ),
        ("POST", "/v1/staff/threads") => post(
            path.into(),
            json!({"child_id": child(), "subject": "s", "body": "b"}),
        ),
        ("POST", "/v1/staff/threads/{id}/messages") => {
            post(path.replace("{id}", &t.thread[i]), json!({"body": "b"}))
        }
        ("POST", "/v1/staff/broadcasts") => post(
            path.into(),
            json!({"department_id": department(), "subject": "s", "body": "b", "urgent": false}),
        ),
        ("POST", "/v1/staff/events") => post(
            path.into(),
            json!({"department_id": department(), "title": "t", "description": null,
                   "starts_at": 1_900_000_000_000_i64, "ends_at": 1_900_000_360_000_i64}),
        ),
        ("POST", "/v1/staff/attendance/{child_id}") => post(
            path.replace("{child_id}", &child()),
            json!({"action": "check_in"}),
        ),
        ("POST", "/v1/staff/absences/{id}/acknowledge") => {
            post(path.replace("{id}", &t.absence[i.min(2)]), json!({}))
        }
        ("POST", "/v1/staff/photos") => Call {
            method: Method::POST,
            path: format!("{path}?children={}", child()),
            json: None,
            upload: Some(("image/png", PNG.to_vec())),
        },
        ("POST", "/v1/staff/documents") => Call {
            method: Method::POST,
            path: match place {
                Place::Kindergarten => format!("{path}?title=t"),
                _ => format!("{path}?title=t&child_id={}", child()),
            },
            json: None,
            upload: Some(("application/pdf", b"%PDF-1.4 test".to_vec())),
        },
        ("GET", "/v1/staff/privacy-requests") | ("GET", "/v1/staff/send-queue") => Call {
            method: Method::GET,
            path: path.into(),
            json: None,
            upload: None,
        },
        ("POST", "/v1/staff/privacy-requests/{id}/handle") => post(
            path.replace("{id}", &t.privacy_request),
            json!({"status": "completed", "response": null}),
        ),
        ("PUT", "/v1/staff/me/picture") | ("PUT", "/v1/staff/children/{child_id}/picture") => {
            Call {
                method: Method::PUT,
                path: path.replace("{child_id}", &child()),
                json: None,
                upload: Some(("image/png", PNG.to_vec())),
            }
        }
        ("DELETE", "/v1/staff/me/picture")
        | ("DELETE", "/v1/staff/children/{child_id}/picture") => Call {
            method: Method::DELETE,
            path: path.replace("{child_id}", &child()),
            json: None,
            upload: None,
        },
        ("PUT", "/v1/staff/me/info") => Call {
            method: Method::PUT,
            path: path.into(),
            json: Some(json!({"info": "Hei!"})),
            upload: None,
        },
        // Setting it to what it is: the answer shows the gate let it through, nothing changes.
        ("PUT", "/v1/staff/relations/{id}/parental-responsibility") => Call {
            method: Method::PUT,
            path: path.replace("{id}", &t.relation[i.min(2)]),
            json: Some(json!({"parental_responsibility": true})),
            upload: None,
        },
        // The first step only: it checks everything and erases nothing.
        ("POST", "/v1/staff/erasures") => {
            let person = match place {
                Place::Elsewhere => json!({"kind": "child", "id": t.child[2]}),
                _ => json!({"kind": "guardian", "id": demo::SECOND_GUARDIAN_ID}),
            };
            post(path.into(), json!({ "person": person }))
        }
        _ => panic!("no request for {method} {path}"),
    }
}

async fn send(h: &Harness, token: &str, c: &Call) -> Resp {
    let mut rb = h
        .http
        .request(c.method.clone(), h.url(&c.path))
        .bearer_auth(token);
    if let Some(b) = &c.json {
        rb = rb.json(b);
    }
    if let Some((ct, bytes)) = &c.upload {
        rb = rb.header("content-type", *ct).body(bytes.clone());
    }
    into_resp(rb.send().await.expect("sent")).await
}

/// `pub const NAME: &str = "value";` lines of `paths.rs`.
fn path_constants() -> Vec<(String, String)> {
    include_str!("../../../api/src/paths.rs")
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(": &str = \"")?;
            let (value, _) = rest.split_once('"')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Every (method, path) the server's router registers under `/v1/staff/`, read from `app.rs`.
fn staff_routes_in_source() -> BTreeSet<(String, String)> {
    let consts = path_constants();
    let src = include_str!("../../src/app.rs");
    let mut out = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let Some(name) = chunk.trim_start().strip_prefix("p::") else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let Some((_, path)) = consts.iter().find(|(n, _)| *n == name) else {
            panic!("route constant {name} not in paths.rs");
        };
        if !path.starts_with("/v1/staff/") {
            continue;
        }
        // The handlers of this route: up to the next builder call.
        let end = [".route(", ".layer(", ".merge(", ".route_layer("]
            .iter()
            .filter_map(|m| chunk.find(m))
            .min()
            .unwrap_or(chunk.len());
        for m in ["get", "post", "put", "delete", "patch"] {
            let text = &chunk[..end];
            let called = [" ", "(", ".", "\n"]
                .iter()
                .any(|before| text.contains(&format!("{before}{m}(")));
            if called {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_staff_route_has_a_rule_a_contract_and_a_case() {
    let from_source = staff_routes_in_source();
    assert!(
        from_source.len() >= 12,
        "the source scan found the staff routes: {from_source:?}"
    );
    let doc: Value = serde_json::from_str(&kidplan_api::openapi::document_json()).expect("doc");
    let mut from_doc = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if path.starts_with("/v1/staff/") {
            for m in item.as_object().expect("item").keys() {
                from_doc.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    assert_eq!(from_source, from_doc, "router and OpenAPI disagree");
    for (m, p) in &from_source {
        assert!(
            route_case(m, p).is_some(),
            "{m} {p}: add a case to roles.rs (and a rule to permissions::RULES)"
        );
        let method = Method::from_bytes(m.as_bytes()).expect("method");
        assert!(
            kidplan_server::permissions::rule_for(&method, p).is_some(),
            "{m} {p} has no rule in permissions::RULES"
        );
    }
}

#[tokio::test]
async fn every_staff_endpoint_with_every_role_and_department() {
    let h = start().await;
    let t = things(&h).await;
    let mut tokens = Vec::new();
    for who in PEOPLE {
        tokens.push(h.login(who.contact).await.access_token);
    }
    let other_kindergarten = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    let mut tried = 0;
    let mut failures = Vec::new();
    for (m, p) in staff_routes_in_source() {
        let (action, places) = route_case(&m, &p).expect("case");
        for &place in places {
            let call = call_for(&m, &p, place, &t);
            for (who, token) in PEOPLE.iter().zip(&tokens) {
                let want = expected(who, action, place);
                let r = send(&h, token, &call).await;
                tried += 1;
                let ok = match want {
                    Expect::Allowed => (200..300).contains(&r.status) || r.status == 409,
                    Expect::Status(s) => r.status == s,
                };
                if !ok {
                    failures.push(format!(
                        "{} {m} {p} at {place:?}: want {want:?}, got {} {}",
                        who.name, r.status, r.body
                    ));
                }
            }
            // Staff of another kindergarten see nothing of this one.
            if place != Place::Elsewhere {
                let r = send(&h, &other_kindergarten, &call).await;
                tried += 1;
                let want = if place == Place::Kindergarten { 0 } else { 404 };
                if want == 404 && r.status != 404 {
                    failures.push(format!(
                        "other kindergarten {m} {p} at {place:?}: got {}",
                        r.status
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(tried > 250, "{tried} calls");
}

#[tokio::test]
async fn erasure_takes_a_confirmation_from_the_same_manager_for_the_same_person() {
    let h = start().await;
    let manager = h.staff().await;
    let teacher = h.login("+4792000002").await.access_token;
    let person = json!({"kind": "guardian", "id": demo::SECOND_GUARDIAN_ID});
    let other = json!({"kind": "guardian", "id": demo::CANARY_GUARDIAN_ID});
    // A teacher gets no token at all.
    let r = h
        .post("/v1/staff/erasures", &teacher, json!({ "person": person }))
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    // No token, a made-up token, or a token for another person: nothing is erased.
    let ask = |p: Value| {
        let h = &h;
        let manager = &manager;
        async move {
            let r = h
                .post("/v1/staff/erasures", manager, json!({ "person": p }))
                .await;
            assert_eq!(r.status, 202, "{r:?}");
            r.body["confirmation"].as_str().expect("token").to_owned()
        }
    };
    let token = ask(person.clone()).await;
    for (p, tok) in [
        (person.clone(), "kpe_made_up".to_owned()),
        (other.clone(), token.clone()),
        // The token was spent by the refused try above.
        (person.clone(), token.clone()),
    ] {
        let r = h
            .post(
                "/v1/staff/erasures",
                &manager,
                json!({"person": p, "confirmation": tok}),
            )
            .await;
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.body["field"], "confirmation", "{r:?}");
    }
    let per = h.login(demo::SECOND_GUARDIAN_EMAIL).await.access_token;
    assert_eq!(h.get("/v1/sync?limit=1", &per).await.status, 200);
    // The manager cannot erase themself.
    let me = json!({"kind": "staff", "id": demo::STAFF_ID});
    let r = h
        .post("/v1/staff/erasures", &manager, json!({ "person": me }))
        .await;
    assert_eq!(r.status, 409, "{r:?}");
    // Ask, then confirm: erased, and the audit names who and when, nothing of the person.
    let token = ask(person.clone()).await;
    let r = h
        .post(
            "/v1/staff/erasures",
            &manager,
            json!({"person": person, "confirmation": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(h.get("/v1/sync?limit=1", &per).await.status, 401);
    let conn = Connection::open(h.server.db_path()).expect("db");
    let rows: Vec<String> = conn
        .prepare(
            "SELECT kindergarten_id || '|' || erased_by || '|' || erased_at FROM erasure_audit",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .flatten()
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with(&format!("{}|{}|", demo::KINDERGARTEN_ID, demo::STAFF_ID)));
    let audit = dump_table(&conn, "erasure_audit") + &dump_table(&conn, "erasure_confirmations");
    for gone in [
        demo::SECOND_GUARDIAN_ID,
        demo::SECOND_GUARDIAN_EMAIL,
        "guardian",
    ] {
        assert!(!audit.contains(gone), "{gone} in the audit tables");
    }
}

fn dump_table(conn: &Connection, table: &str) -> String {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table}"))
        .expect("select");
    let n = stmt.column_count();
    let mut out = String::new();
    let mut rows = stmt.query([]).expect("rows");
    while let Ok(Some(row)) = rows.next() {
        for i in 0..n {
            let v: rusqlite::types::Value = row.get(i).expect("value");
            out.push_str(&format!("{v:?}|"));
        }
    }
    out
}
