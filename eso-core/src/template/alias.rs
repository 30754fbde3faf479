//! Go maps are references: the helpers that keep variables holding the same map in step
//! after a function changed it (`set`, `unset`, `merge` ...).

use std::sync::Arc;

use super::value::{MapKind, Value};

/// The identity of a map or list (its shared allocation).
pub(crate) fn container_ptr(v: &Value) -> Option<usize> {
    match v {
        Value::Map(m, _) => Some(Arc::as_ptr(m) as *const u8 as usize),
        Value::List(l) => Some(Arc::as_ptr(l) as *const u8 as usize),
        _ => None,
    }
}

/// `v` with every container in `memo` (by identity) replaced, rebuilding the maps and lists
/// on the way (each rebuilt container is added to `memo`, so its aliases get the same new
/// value). `None` when nothing inside changes.
pub(crate) fn substitute(v: &Value, memo: &mut Vec<(usize, Value)>) -> Option<Value> {
    let ptr = container_ptr(v)?;
    if let Some((_, new)) = memo.iter().find(|(p, _)| *p == ptr) {
        return Some(new.clone());
    }
    let new = match v {
        Value::Map(m, kind) if *kind != MapKind::Strings => {
            let mut changed: Option<super::value::Map> = None;
            for (k, e) in m.iter() {
                if let Some(ne) = substitute(e, memo) {
                    changed
                        .get_or_insert_with(|| (**m).clone())
                        .insert(k.clone(), ne);
                }
            }
            Value::Map(Arc::new(changed?), *kind)
        }
        Value::List(l) => {
            let mut changed: Option<Vec<Value>> = None;
            for (i, e) in l.iter().enumerate() {
                if let Some(ne) = substitute(e, memo) {
                    changed.get_or_insert_with(|| (**l).clone())[i] = ne;
                }
            }
            Value::List(Arc::new(changed?))
        }
        _ => return None,
    };
    memo.push((ptr, new.clone()));
    Some(new)
}
