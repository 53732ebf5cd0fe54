//! Console sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure unless on
//! loopback), a CSRF token per session checked on every form, idle expiry, and a new id on
//! sign-in (so a session id planted before sign-in is worth nothing after it).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

/// The session cookie's name.
pub const COOKIE: &str = "rollcall_session";

/// Who is signed in, as the staff list and students table say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A member of staff with their console roles.
    Staff {
        /// Their staff id.
        staff_id: String,
        /// Their name, for the page header.
        name: String,
        /// Roles from the staff list (`tutor`, `department-lead`, `progress`, `compliance`, `dpo`, `planner`).
        roles: Vec<String>,
        /// Their department (a department lead's scope).
        department: String,
    },
    /// A student: their own page only.
    Student {
        /// Their student id.
        student_id: String,
    },
}

impl Identity {
    /// Whether the member of staff holds `role`.
    pub fn has(&self, role: &str) -> bool {
        matches!(self, Identity::Staff { roles, .. } if roles.iter().any(|r| r == role))
    }

    /// The role named in audit entries: the widest the user holds.
    pub fn role(&self) -> &str {
        match self {
            Identity::Student { .. } => "student",
            Identity::Staff { roles, .. } => {
                for role in ["progress", "department-lead", "tutor", "compliance", "dpo", "planner"] {
                    if roles.iter().any(|r| r == role) {
                        return role;
                    }
                }
                "staff"
            }
        }
    }
}

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie's value.
    pub id: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Who is signed in (none before sign-in).
    pub user: Option<(String, Identity)>,
    last_seen: Instant,
}

/// Every live session.
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// No sessions; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions { live: Mutex::new(HashMap::new()), idle }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session a cookie names, if it is live (its idle clock restarts).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live();
        let idle = self.idle;
        live.retain(|_, s| s.last_seen.elapsed() < idle);
        live.get_mut(id).map(|s| {
            s.last_seen = Instant::now();
            s.clone()
        })
    }

    /// A new session, signed in as `user` or not.
    pub fn start(&self, user: Option<(String, Identity)>) -> Session {
        let session = Session { id: token(), csrf: token(), user, last_seen: Instant::now() };
        self.live().insert(session.id.clone(), session.clone());
        session
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        self.live().remove(id);
    }
}

/// The `Set-Cookie` value for a session.
pub fn cookie(session: &Session, secure: bool) -> String {
    format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}", session.id, if secure { "; Secure" } else { "" })
}

/// The session id a request's cookies carry.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_tokens_are_unguessable() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let a = sessions.start(None);
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, a.csrf);
        assert!(sessions.get(&a.id).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&a.id).is_none(), "idle past the limit");
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
