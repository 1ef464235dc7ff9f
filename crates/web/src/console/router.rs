//! The console's routes: a method and an exact path name one [`Route`].
//! The console has a few dozen fixed paths, so a table beats a framework;
//! ids and addresses travel in the query string or the form, never in
//! the path, so there is nothing to parse out of it.

use hyper::Method;

/// Who may ask for a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the login form, the stylesheet.
    Public,
    /// A logged-in user who still owes the second factor (or has paid it).
    Pending,
    /// A logged-in user.
    User,
    /// A logged-in user with the admin role.
    Admin,
}

macro_rules! routes {
    ($($method:ident $path:literal => $route:ident, $access:ident;)*) => {
        /// Every page and action of the console.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Route { $($route,)* }

        impl Route {
            /// Every route: method, path, route, in the table's order (the
            /// bad-input tests walk it, so no route escapes them).
            #[cfg(test)]
            pub const ALL: &[(&str, &str, Route)] =
                &[$((stringify!($method), $path, Route::$route),)*];

            /// The route for `method` and `path`: `Err(true)` when the path
            /// exists with another method (405), `Err(false)` when it does
            /// not (404).
            pub fn find(method: &Method, path: &str) -> Result<Route, bool> {
                let method = if *method == Method::HEAD { &Method::GET } else { method };
                let mut path_known = false;
                $(
                    if path == $path {
                        if *method == Method::$method {
                            return Ok(Route::$route);
                        }
                        path_known = true;
                    }
                )*
                Err(path_known)
            }

            pub fn access(self) -> Access {
                match self { $(Route::$route => Access::$access,)* }
            }

            pub fn is_post(self) -> bool {
                match self { $(Route::$route => stringify!($method) == "POST",)* }
            }
        }
    };
}

routes! {
    GET  "/account/login" => LoginForm, Public;
    POST "/account/login" => Login, Public;
    GET  "/account/second-factor" => SecondFactorForm, Pending;
    POST "/account/second-factor" => SecondFactor, Pending;
    POST "/account/logout" => Logout, Pending;
    GET  "/account" => AccountHome, User;
    GET  "/account/password" => PasswordForm, User;
    GET  "/account/setup" => ClientSetup, User;
    POST "/account/password" => Password, User;
    GET  "/admin" => Dashboard, Admin;
    GET  "/admin/domains" => Domains, Admin;
    POST "/admin/domains/add" => DomainAdd, Admin;
    POST "/admin/domains/delete" => DomainDelete, Admin;
    POST "/admin/domains/rotate" => DkimRotate, Admin;
    GET  "/admin/domain" => Domain, Admin;
    GET  "/admin/domain/doctor" => DomainDoctor, Admin;
    GET  "/admin/users" => Users, Admin;
    POST "/admin/users/add" => UserAdd, Admin;
    GET  "/admin/user" => User, Admin;
    GET  "/admin/user/delete" => UserDeleteConfirm, Admin;
    POST "/admin/users/delete" => UserDelete, Admin;
    POST "/admin/users/quota" => UserQuota, Admin;
    POST "/admin/users/password" => UserPassword, Admin;
    POST "/admin/users/disable" => UserDisable, Admin;
    POST "/admin/users/enable" => UserEnable, Admin;
    POST "/admin/users/admin" => UserAdmin, Admin;
    GET  "/admin/aliases" => Aliases, Admin;
    POST "/admin/aliases/add" => AliasAdd, Admin;
    POST "/admin/aliases/delete" => AliasDelete, Admin;
    GET  "/admin/queue" => Queue, Admin;
    GET  "/admin/queue/item" => QueueItem, Admin;
    POST "/admin/queue/retry" => QueueRetry, Admin;
    POST "/admin/queue/hold" => QueueHold, Admin;
    POST "/admin/queue/release" => QueueRelease, Admin;
    POST "/admin/queue/delete" => QueueDelete, Admin;
    GET  "/admin/blocks" => Blocks, Admin;
    POST "/admin/blocks/add" => BlockAdd, Admin;
    POST "/admin/blocks/delete" => BlockDelete, Admin;
    GET  "/admin/spam" => Spam, Admin;
    // The account's security (account_security.rs).
    GET  "/account/app-passwords" => AppPasswords, User;
    POST "/account/app-passwords/create" => AppPasswordCreate, User;
    GET  "/account/app-passwords/revoke" => AppPasswordRevokeConfirm, User;
    POST "/account/app-passwords/revoke" => AppPasswordRevoke, User;
    GET  "/account/two-factor" => TwoFactor, User;
    POST "/account/two-factor/enroll" => TotpEnroll, User;
    POST "/account/two-factor/confirm" => TotpConfirm, User;
    POST "/account/two-factor/disable" => TotpDisable, User;
    GET  "/account/devices" => Devices, User;
    GET  "/account/vacation" => Vacation, User;
    POST "/account/vacation" => VacationSave, User;
    GET  "/account/filters" => Filters, User;
    POST "/account/filters/add" => FilterAdd, User;
    POST "/account/filters/delete" => FilterDelete, User;
    POST "/account/filters/move" => FilterMove, User;
    GET  "/account/sieve" => Scripts, User;
    GET  "/account/sieve/edit" => ScriptEdit, User;
    POST "/account/sieve/save" => ScriptSave, User;
    POST "/account/sieve/activate" => ScriptActivate, User;
    POST "/account/sieve/delete" => ScriptDelete, User;
    GET  "/account/mailboxes" => Mailboxes, User;
    GET  "/account/mailboxes/download" => MailboxDownload, User;
    GET  "/account/spam" => AccountSpam, User;
    POST "/account/spam/settings" => AccountSpamSettings, User;
    POST "/account/spam/senders/add" => AccountSpamSenderAdd, User;
    POST "/account/spam/senders/remove" => AccountSpamSenderRemove, User;
}

/// Whether `path` belongs to the console (so the discovery routes never
/// see it).
pub fn is_console(path: &str) -> bool {
    path == "/"
        || path == "/admin"
        || path == "/account"
        || path.starts_with("/admin/")
        || path.starts_with("/account/")
        || path.starts_with("/static/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_and_exact_path() {
        assert_eq!(Route::find(&Method::GET, "/admin"), Ok(Route::Dashboard));
        assert_eq!(Route::find(&Method::HEAD, "/admin"), Ok(Route::Dashboard));
        assert_eq!(
            Route::find(&Method::POST, "/account/login"),
            Ok(Route::Login)
        );
        assert_eq!(Route::find(&Method::POST, "/admin"), Err(true));
        assert_eq!(Route::find(&Method::GET, "/admin/nope"), Err(false));
        assert_eq!(Route::find(&Method::GET, "/admin/"), Err(false));
        assert_eq!(Route::Users.access(), Access::Admin);
        assert!(Route::UserAdd.is_post() && !Route::Users.is_post());
    }
}
