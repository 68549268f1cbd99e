//! Who may see which rows: a query on `properties` (or joined to it) narrowed to the caller's scope. A row
//! outside it is simply not found, so handlers answer 404 without a separate check.

/// Narrows a query that includes `properties` to what `caller` may see: admins everything, staff
/// their village, landlords their own properties.
macro_rules! scoped {
    ($query:expr, $caller:expr) => {{
        use $crate::auth::Role;
        use $crate::db::schema::properties;
        let caller: &$crate::auth::Caller = $caller;
        match caller.role {
            Role::Admin => $query,
            Role::Auditor | Role::Inspector => {
                $query.filter(properties::village_id.eq(caller.village_id.clone().unwrap_or_default()))
            }
            Role::Landlord => $query.filter(properties::owner_id.eq(caller.user_id.clone())),
        }
    }};
}
pub(crate) use scoped;

/// The first row of `$query` that `$caller` may see. Unlike `scoped!`, each role's query keeps its own
/// static type and runs on the backend's own connection, so its prepared statement is found in the cache
/// by type, without writing its SQL again: single-row look-ups are hot.
macro_rules! scoped_first {
    ($query:expr, $caller:expr, $conn:expr) => {{
        use $crate::auth::Role;
        use $crate::db::schema::properties;
        let caller: &$crate::auth::Caller = $caller;
        $crate::per_backend!($conn, |c| match caller.role {
            Role::Admin => $query.first(c),
            Role::Auditor | Role::Inspector => $query
                .filter(properties::village_id.eq(caller.village_id.clone().unwrap_or_default()))
                .first(c),
            Role::Landlord => $query.filter(properties::owner_id.eq(caller.user_id.clone())).first(c),
        })
    }};
}
pub(crate) use scoped_first;
