//! Go's `eq` / `lt` on template values (text/template's comparison functions).

use super::value::Value;

/// Go's `eq` on two basic values. `Ok(None)` = not comparable but no error (nil involved).
fn basic_eq(a: &Value, b: &Value) -> Result<bool, String> {
    use Value::*;
    Ok(match (a, b) {
        (Nil, Nil) => true,
        (Nil, _) | (_, Nil) => false,
        (Bool(x), Bool(y)) => x == y,
        (Int(x) | Int64(x), Int(y) | Int64(y)) => x == y,
        (Uint(x), Uint(y)) => x == y,
        (Int(x) | Int64(x), Uint(y)) | (Uint(y), Int(x) | Int64(x)) => *x >= 0 && *x as u64 == *y,
        (Float(x), Float(y)) => x == y,
        (Str(x), Str(y)) => x == y,
        (List(_) | Map(..), _) | (_, List(_) | Map(..)) => {
            if std::mem::discriminant(a) == std::mem::discriminant(b) {
                return Err(format!("non-comparable type {}", a.type_name()));
            }
            return Err("incompatible types for comparison".into());
        }
        _ => return Err("incompatible types for comparison".into()),
    })
}

pub(crate) fn go_eq(args: &[Value]) -> Result<Value, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("missing argument for comparison".into());
    };
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    if matches!(first, Value::List(_) | Value::Map(..)) {
        return Err("invalid type for comparison".into());
    }
    for b in rest {
        if basic_eq(first, b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub(crate) fn go_lt(a: &Value, b: &Value) -> Result<bool, String> {
    use Value::*;
    Ok(match (a, b) {
        (Int(x) | Int64(x), Int(y) | Int64(y)) => x < y,
        (Uint(x), Uint(y)) => x < y,
        (Int(x) | Int64(x), Uint(y)) => *x < 0 || (*x as u64) < *y,
        (Uint(x), Int(y) | Int64(y)) => *y >= 0 && *x < *y as u64,
        (Float(x), Float(y)) => x < y,
        (Str(x), Str(y)) => x < y,
        (Bool(_), Bool(_)) | (List(_), _) | (Map(..), _) | (Nil, _) => {
            return Err("invalid type for comparison".into());
        }
        (_, List(_) | Map(..) | Nil) => return Err("invalid type for comparison".into()),
        _ => return Err("incompatible types for comparison".into()),
    })
}
