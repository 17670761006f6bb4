//! Statement arguments that know their PostgreSQL type.
//!
//! A statement whose arguments' types are sent with it runs in one round
//! trip (`query_typed`: parse, bind and execute together), where one
//! prepared first takes three (prepare; bind and execute; close). A
//! one-service report runs some thirty statements: on loopback that was
//! about a third of its time as a process.

use postgres::GenericClient;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};

use super::Row;
use crate::Result;

/// A statement's argument and its type.
pub(crate) trait Arg: ToSql + Sync {
    fn pg_type(&self) -> Type;
}

macro_rules! typed {
    ($($rust:ty => $pg:expr),* $(,)?) => {
        $(
            impl Arg for $rust {
                fn pg_type(&self) -> Type {
                    $pg
                }
            }
            impl Arg for Option<$rust> {
                fn pg_type(&self) -> Type {
                    $pg
                }
            }
        )*
    };
}

typed! {
    i64 => Type::INT8,
    bool => Type::BOOL,
    String => Type::TEXT,
    &str => Type::TEXT,
    Vec<String> => Type::TEXT_ARRAY,
    Vec<&str> => Type::TEXT_ARRAY,
    &[String] => Type::TEXT_ARRAY,
    &[&str] => Type::TEXT_ARRAY,
    Vec<&String> => Type::TEXT_ARRAY,
    &[&String] => Type::TEXT_ARRAY,
    Vec<i64> => Type::INT8_ARRAY,
    Vec<&[u8]> => Type::BYTEA_ARRAY,
}

/// Calls `each` with every row of `sql` as it arrives: decoded while the
/// server still sends the rest, where collecting would hold them all
/// first.
pub(crate) fn for_each_row(
    client: &mut impl GenericClient,
    sql: &str,
    args: &[&dyn Arg],
    mut each: impl FnMut(&Row) -> Result<()>,
) -> Result<()> {
    let mut rows = client.query_typed_raw(sql, typed(args))?;
    while let Some(row) = rows.next()? {
        each(&row)?;
    }
    Ok(())
}

/// Every row of `sql`, in one round trip.
pub(crate) fn query(
    client: &mut impl GenericClient,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Vec<Row>> {
    Ok(client.query_typed(sql, &typed(args))?)
}

/// The one row of `sql` (an error when there is none or more), in one
/// round trip.
pub(crate) fn query_one(
    client: &mut impl GenericClient,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Row> {
    Ok(client.query_typed_one(sql, &typed(args))?)
}

/// The row of `sql` if there is one (an error when there are more), in
/// one round trip.
pub(crate) fn query_opt(
    client: &mut impl GenericClient,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Option<Row>> {
    Ok(client.query_typed_opt(sql, &typed(args))?)
}

fn typed<'a>(args: &[&'a dyn Arg]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    args.iter()
        .map(|a| (*a as &(dyn ToSql + Sync), a.pg_type()))
        .collect()
}
