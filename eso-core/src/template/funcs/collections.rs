//! sprig's collection functions: lists (`list`, `append`, `first`, `uniq`, `slice`, `chunk`
//! ...) and dicts (`dict`, `get`, `set`, `unset`, `merge`, `pick`, `dig` ...).

use super::sprig::{empty, list_of, to_i64};
use super::{A, Args, FnResult, FuncDef, I, S, Special, fixed, int_arg, strval, text, var};
use crate::template::value::{Map, Value};

fn deep_merge(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Map(d, _)), Value::Map(s2, _)) => {
                let mut dm = d.as_ref().clone();
                deep_merge(&mut dm, s2, overwrite);
                *d = std::sync::Arc::new(dm);
            }
            (Some(existing), _) => {
                if overwrite || empty(existing) {
                    *existing = v.clone();
                }
            }
            (None, _) => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

fn map_arg<'a>(v: &'a Value, f: &str) -> Result<&'a Map, String> {
    match v {
        Value::Map(m, _) => Ok(m),
        other => Err(format!("{f}: expected a map, got {}", other.type_name())),
    }
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        // collections
        var("list", &[A], |_, a| Ok(Value::list(a.into_vec()))),
        var("tuple", &[A], |_, a| Ok(Value::list(a.into_vec()))),
        FuncDef {
            special: Special::Dict,
            ..var("dict", &[A], dict)
        },
        fixed("get", &[A, S], |_, a| {
            let m = map_arg(&a[0], "get")?;
            Ok(m.get(text(&a[1]).as_ref())
                .cloned()
                .unwrap_or_else(|| Value::str("")))
        }),
        fixed("set", &[A, S, A], |_, a| {
            let mut m = map_arg(&a[0], "set")?.clone();
            m.insert(text(&a[1]).into(), a[2].clone());
            Ok(Value::map(m))
        }),
        fixed("unset", &[A, S], |_, a| {
            let mut m = map_arg(&a[0], "unset")?.clone();
            m.remove(text(&a[1]).as_ref());
            Ok(Value::map(m))
        }),
        fixed("hasKey", &[A, S], |_, a| {
            Ok(Value::Bool(
                map_arg(&a[0], "hasKey")?.contains_key(text(&a[1]).as_ref()),
            ))
        }),
        var("pluck", &[S, A], |_, a| {
            let k = text(&a[0]).into_owned();
            Ok(Value::list(
                a[1..]
                    .iter()
                    .filter_map(|d| {
                        map_arg(d, "pluck")
                            .ok()
                            .and_then(|m| m.get(k.as_str()).cloned())
                    })
                    .collect(),
            ))
        }),
        var("keys", &[A], |_, a| {
            let mut v = Vec::new();
            for d in &a {
                v.extend(
                    map_arg(d, "keys")?
                        .keys()
                        .map(|k| Value::Str(k.clone().into())),
                );
            }
            Ok(Value::list(v))
        }),
        var("pick", &[A, S], |_, a| {
            let m = map_arg(&a[0], "pick")?;
            let mut out = Map::new();
            for k in &a[1..] {
                let k = text(k);
                if let Some(v) = m.get(k.as_ref()) {
                    out.insert(k.into(), v.clone());
                }
            }
            Ok(Value::map(out))
        }),
        var("omit", &[A, S], |_, a| {
            let mut m = map_arg(&a[0], "omit")?.clone();
            for k in &a[1..] {
                m.remove(text(k).as_ref());
            }
            Ok(Value::map(m))
        }),
        var("merge", &[A, A], |_, a| {
            let mut d = map_arg(&a[0], "merge")?.clone();
            for src in &a[1..] {
                deep_merge(&mut d, map_arg(src, "merge")?, false);
            }
            Ok(Value::map(d))
        }),
        var("mustMerge", &[A, A], |_, a| {
            let mut d = map_arg(&a[0], "merge")?.clone();
            for src in &a[1..] {
                deep_merge(&mut d, map_arg(src, "merge")?, false);
            }
            Ok(Value::map(d))
        }),
        var("mergeOverwrite", &[A, A], |_, a| {
            let mut d = map_arg(&a[0], "mergeOverwrite")?.clone();
            for src in &a[1..] {
                deep_merge(&mut d, map_arg(src, "mergeOverwrite")?, true);
            }
            Ok(Value::map(d))
        }),
        var("mustMergeOverwrite", &[A, A], |_, a| {
            let mut d = map_arg(&a[0], "mergeOverwrite")?.clone();
            for src in &a[1..] {
                deep_merge(&mut d, map_arg(src, "mergeOverwrite")?, true);
            }
            Ok(Value::map(d))
        }),
        fixed("values", &[A], |_, a| {
            Ok(Value::list(
                map_arg(&a[0], "values")?.values().cloned().collect(),
            ))
        }),
        fixed("append", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("push", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("mustAppend", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("mustPush", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("prepend", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.insert(0, a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("mustPrepend", &[A, A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.insert(0, a[1].clone());
            Ok(Value::list(l))
        }),
        fixed("first", &[A], |_, a| {
            Ok(list_of(&a[0])
                .ok()
                .and_then(|l| l.first().cloned())
                .unwrap_or_default())
        }),
        fixed("mustFirst", &[A], |_, a| {
            Ok(list_of(&a[0])?.first().cloned().unwrap_or_default())
        }),
        fixed("last", &[A], |_, a| {
            Ok(list_of(&a[0])
                .ok()
                .and_then(|l| l.last().cloned())
                .unwrap_or_default())
        }),
        fixed("mustLast", &[A], |_, a| {
            Ok(list_of(&a[0])?.last().cloned().unwrap_or_default())
        }),
        fixed("rest", &[A], |_, a| {
            Ok(list_of(&a[0])
                .ok()
                .filter(|l| !l.is_empty())
                .map(|l| Value::list(l[1..].to_vec()))
                .unwrap_or_default())
        }),
        fixed("mustRest", &[A], |_, a| {
            let l = list_of(&a[0])?;
            Ok(if l.is_empty() {
                Value::Nil
            } else {
                Value::list(l[1..].to_vec())
            })
        }),
        fixed("initial", &[A], |_, a| {
            Ok(list_of(&a[0])
                .ok()
                .filter(|l| !l.is_empty())
                .map(|l| Value::list(l[..l.len() - 1].to_vec()))
                .unwrap_or_default())
        }),
        fixed("mustInitial", &[A], |_, a| {
            let l = list_of(&a[0])?;
            Ok(if l.is_empty() {
                Value::Nil
            } else {
                Value::list(l[..l.len() - 1].to_vec())
            })
        }),
        fixed("reverse", &[A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.reverse();
            Ok(Value::list(l))
        }),
        fixed("mustReverse", &[A], |_, a| {
            let mut l = list_of(&a[0])?;
            l.reverse();
            Ok(Value::list(l))
        }),
        fixed("uniq", &[A], |_, a| {
            let mut out: Vec<Value> = Vec::new();
            for v in list_of(&a[0])? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::list(out))
        }),
        fixed("mustUniq", &[A], |_, a| {
            let mut out: Vec<Value> = Vec::new();
            for v in list_of(&a[0])? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::list(out))
        }),
        var("without", &[A, A], |_, a| {
            Ok(Value::list(
                list_of(&a[0])?
                    .into_iter()
                    .filter(|v| !a[1..].contains(v))
                    .collect(),
            ))
        }),
        var("mustWithout", &[A, A], |_, a| {
            Ok(Value::list(
                list_of(&a[0])?
                    .into_iter()
                    .filter(|v| !a[1..].contains(v))
                    .collect(),
            ))
        }),
        fixed("has", &[A, A], |_, a| {
            Ok(Value::Bool(
                list_of(&a[1]).map(|l| l.contains(&a[0])).unwrap_or(false),
            ))
        }),
        fixed("mustHas", &[A, A], |_, a| {
            Ok(Value::Bool(list_of(&a[1])?.contains(&a[0])))
        }),
        var("slice", &[A, A], |_, a| {
            let l = match &a[0] {
                Value::List(l) => l,
                other => return Err(format!("Cannot slice on type {}", other.type_name())),
            };
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let st = a.get(1).map_or(0, to_i64);
            let en = a.get(2).map_or(l.len() as i64, to_i64);
            if st < 0 || en < st || en as usize > l.len() {
                return Err(format!("slice bounds out of range [{st}:{en}]"));
            }
            Ok(Value::list(l[st as usize..en as usize].to_vec()))
        }),
        var("concat", &[A], |_, a| {
            let mut out = Vec::new();
            for l in &a {
                out.extend(list_of(l)?);
            }
            Ok(Value::list(out))
        }),
        var("dig", &[A, A, A], |_, a| {
            let n = a.len();
            let (keys, def, dict) = (&a[..n - 2], &a[n - 2], &a[n - 1]);
            let mut cur = dict.clone();
            for k in keys {
                let m = map_arg(&cur, "dig")?;
                match m.get(text(k).as_ref()) {
                    Some(v) => cur = v.clone(),
                    None => return Ok(def.clone()),
                }
            }
            Ok(cur)
        }),
        fixed("chunk", &[I, A], |_, a| {
            let size = int_arg(&a[0]).max(1) as usize;
            Ok(Value::list(
                list_of(&a[1])?
                    .chunks(size)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        }),
        fixed("mustChunk", &[I, A], |_, a| {
            let size = int_arg(&a[0]).max(1) as usize;
            Ok(Value::list(
                list_of(&a[1])?
                    .chunks(size)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        }),
    ]
}

/// `dict`: a map of the key and value pairs (a missing last value is the empty string; keys
/// that are not strings are printed as Go prints them). The evaluator builds the map itself
/// when every key is a string constant.
fn dict(_: &super::Ctx, a: Args) -> FnResult {
    let mut m = Map::new();
    let mut it = a.into_iter();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| Value::str(""));
        let key: std::sync::Arc<str> = match &k {
            Value::Str(b) => String::from_utf8_lossy(b).into(),
            other => String::from_utf8_lossy(&strval(other)).into(),
        };
        m.insert(key, v);
    }
    Ok(Value::map(m))
}
