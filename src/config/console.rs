//! `[console]`: the web console (`rollcall serve`): how users sign in, how long a session
//! lasts idle, and when repeated failures lock an account.

use serde::{Deserialize, Serialize};

/// `[console]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The header a single sign-on reverse proxy puts the signed-in user's e-mail address
    /// in (Shibboleth, mod_auth_openidc, oauth2-proxy); unset, only local accounts sign in.
    pub user_header: Option<String>,
    /// Addresses of the reverse proxies whose `user_header` is trusted; from any other
    /// address the header is refused (and the attempt logged).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Minutes without a request after which a session ends.
    pub idle_minutes: u32,
    /// Failed sign-ins in a row that lock a local account.
    pub lockout_attempts: u32,
    /// Minutes a locked account stays locked.
    pub lockout_minutes: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            user_header: None,
            trusted_proxies: Vec::new(),
            idle_minutes: 30,
            lockout_attempts: 5,
            lockout_minutes: 15,
        }
    }
}
