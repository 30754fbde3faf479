//! Printing an action's result: the paths that write into the output without building a
//! value first (a field or variable printed where it lives, a string function writing its
//! result), and the general one.

use super::super::value::write_value;
use super::{
    Arg, ArgKind, Ctx, FuncDef, Pipe, PrintPtr, R, State, Ty, Value, check_type_ref, same_name,
};

impl<'t> State<'t> {
    /// `{{ .a.b }}` / `{{ $x.y }}`: prints the value where it lives, without cloning it.
    /// Returns false (nothing done) for any other action, or when the output limit would be
    /// hit (the general path then reports it).
    pub(super) fn print_direct(&mut self, dot: &Value, pipe: &'t Pipe) -> R<bool> {
        let [cmd] = pipe.cmds.as_slice() else {
            return Ok(false);
        };
        let [a] = cmd.args.as_slice() else {
            return Ok(false);
        };
        if !pipe.decl.is_empty() {
            return Ok(false);
        }
        let (root, idents) = match &a.kind {
            ArgKind::Field(idents) => (dot, idents.as_slice()),
            ArgKind::Variable(name, idents) => {
                match self.vars.iter().rev().find(|slot| same_name(slot.0, name)) {
                    Some(slot) => (&slot.1, idents.as_slice()),
                    None => return Ok(false),
                }
            }
            _ => return Ok(false),
        };
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Ok(false);
        }
        let mut v = root;
        for name in idents {
            v = self.eval_field(v, name, a, false)?;
        }
        let max = self.limits.max_output;
        match v {
            Value::Str(b) if self.out.len() + b.len() <= max => self.out.extend_from_slice(b),
            Value::Nil if self.out.len() + 10 <= max => self.out.extend_from_slice(b"<no value>"),
            Value::Str(_) | Value::Nil => return Ok(false),
            other => {
                let start = self.out.len();
                write_value(&mut self.out, other);
                if self.out.len() > max {
                    self.out.truncate(start);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    pub(super) fn print_value(&mut self, v: &Value, pos: usize) -> R<()> {
        match v {
            Value::Nil => self.write(b"<no value>", pos),
            Value::Str(s) => self.write(s, pos),
            other => {
                let start = self.out.len();
                write_value(&mut self.out, other);
                if self.out.len() > self.limits.max_output {
                    self.out.truncate(start);
                    return self.err(
                        Some((pos, pos)),
                        format!(
                            "template output exceeds the maximum of {} bytes",
                            self.limits.max_output
                        ),
                    );
                }
                Ok(())
            }
        }
    }

    /// `{{ ... | f }}` printed, where `f` has a writer for its string result: the result goes
    /// straight into the output, with the same checks and errors as the general path.
    /// Returns false (nothing done) for any other action.
    pub(super) fn print_call(&mut self, dot: &Value, pipe: &'t Pipe) -> R<bool> {
        if !pipe.decl.is_empty() {
            return Ok(false);
        }
        let Some((last, init)) = pipe.cmds.split_last() else {
            return Ok(false);
        };
        let first = &last.args[0];
        let ArgKind::Func(f) = &first.kind else {
            return Ok(false);
        };
        let Some(print) = f.print else {
            return Ok(false);
        };
        let args = &last.args[1..];
        if let ([src], []) = (init, args)
            && let [a] = src.args.as_slice()
            && matches!(a.kind, ArgKind::Field(_) | ArgKind::Variable(..))
        {
            // `{{ .x | f }}` / `{{ $x.y | f }}`: f reads the value where it lives.
            self.step(src.pos)?;
            let mut out = std::mem::take(&mut self.out);
            let start = out.len();
            let r = self.print_piped_path(dot, a, f, print, first, last.pos, &mut out);
            self.out = out;
            // the step of `f`'s command (counted inside, where the value is borrowed)
            self.steps += 1;
            return self.finish_print(r?, start, f, first, pipe.pos);
        }
        let mut value = None;
        for cmd in init {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        self.step(last.pos)?;
        self.check_arity(f, first, args.len() + usize::from(value.is_some()))?;
        let argv = self.call_args(dot, f, first, args, value)?;
        let ctx = Ctx {
            limits: self.limits,
        };
        let start = self.out.len();
        let r = print(&ctx, &argv, &mut self.out);
        self.finish_print(r, start, f, first, pipe.pos)
    }

    /// Evaluates the field or variable path `a` in place and prints `f` of it into `out`
    /// (checks in the order of the general path: the path, the step of `f`'s command at
    /// `call.pos`, the argument count, the argument type).
    #[allow(clippy::too_many_arguments)]
    fn print_piped_path(
        &self,
        dot: &Value,
        a: &'t Arg,
        f: &'static FuncDef,
        print: PrintPtr,
        call: &'t Arg,
        call_pos: usize,
        out: &mut Vec<u8>,
    ) -> R<Result<(), String>> {
        let (root, idents) = match &a.kind {
            ArgKind::Variable(name, idents) => {
                let Some(slot) = self.vars.iter().rev().find(|slot| same_name(slot.0, name)) else {
                    return self.err(Some((a.pos, a.end)), format!("undefined variable: {name}"));
                };
                (&slot.1, idents)
            }
            ArgKind::Field(idents) => (dot, idents),
            _ => return self.err(Some((a.pos, a.end)), "not a field or variable"),
        };
        let mut v = root;
        for name in idents {
            v = self.eval_field(v, name, a, false)?;
        }
        if self.steps + 1 > self.limits.max_steps {
            return self.err(
                Some((call_pos, call_pos)),
                format!(
                    "template exceeded the maximum of {} evaluation steps",
                    self.limits.max_steps
                ),
            );
        }
        self.check_arity(f, call, 1)?;
        // the parameter type of argument 0, as `call_args` picks it
        let ty = if f.variadic && f.params.len() <= 1 {
            f.params.last().copied().unwrap_or(Ty::Any)
        } else {
            f.params.first().copied().unwrap_or(Ty::Any)
        };
        if let Err(e) = check_type_ref(v, ty) {
            return self.err(Some((call.pos, call.end)), e);
        }
        let ctx = Ctx {
            limits: self.limits,
        };
        Ok(print(&ctx, std::slice::from_ref(v), out))
    }

    /// The checks after a writer ran from `start` of the output: its error, the size of
    /// its result, the output limit. On a failure nothing it wrote stays.
    fn finish_print(
        &mut self,
        r: Result<(), String>,
        start: usize,
        f: &'static FuncDef,
        first: &Arg,
        pipe_pos: usize,
    ) -> R<bool> {
        let written = self.out.len() - start;
        let over = self.out.len() > self.limits.max_output;
        if r.is_err() || over {
            self.out.truncate(start);
        }
        if let Err(e) = r {
            return self.call_error(f, first, e);
        }
        if written > self.limits.max_output {
            return self.err(
                Some((first.pos, first.end)),
                format!("error calling {}: result too large", f.name),
            );
        }
        if over {
            return self.err(
                Some((pipe_pos, pipe_pos)),
                format!(
                    "template output exceeds the maximum of {} bytes",
                    self.limits.max_output
                ),
            );
        }
        Ok(true)
    }
}
