//! A line diff in unified format, for comparing two versions of a file.

/// One line of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine<'a> {
    /// `@@ -a,b +c,d @@`
    Hunk(String),
    Context(&'a [u8]),
    Removed(&'a [u8]),
    Added(&'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Ins,
}

/// Above this many cells the middle of the diff is shown as replaced wholesale: an LCS
/// table costs `rows × columns` time and memory.
const LCS_CELLS: usize = 4_000_000;

/// Split into lines, without their `\n`.
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n').collect()
}

fn edit_script(old: &[&[u8]], new: &[&[u8]]) -> Vec<Op> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let a = &old[prefix..old.len() - suffix];
    let b = &new[prefix..new.len() - suffix];
    let mut ops = vec![Op::Same; prefix];
    if a.len().saturating_mul(b.len()) > LCS_CELLS {
        ops.extend(std::iter::repeat_n(Op::Del, a.len()));
        ops.extend(std::iter::repeat_n(Op::Ins, b.len()));
    } else {
        // lcs[i][j]: LCS length of a[i..] and b[j..].
        let w = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * w];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * w + j] = if a[i] == b[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                ops.push(Op::Same);
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                // Deletions first on ties, as diff -u prints them.
                ops.push(Op::Del);
                i += 1;
            } else {
                ops.push(Op::Ins);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Same, suffix));
    ops
}

/// A unified diff of `old` and `new` with `context` lines around each change.
pub fn unified<'a>(old: &[&'a [u8]], new: &[&'a [u8]], context: usize) -> Vec<DiffLine<'a>> {
    let ops = edit_script(old, new);
    // Line numbers before each op.
    let mut positions = Vec::with_capacity(ops.len() + 1);
    let (mut i, mut j) = (0usize, 0usize);
    for op in &ops {
        positions.push((i, j));
        match op {
            Op::Same => {
                i += 1;
                j += 1;
            }
            Op::Del => i += 1,
            Op::Ins => j += 1,
        }
    }
    positions.push((i, j));

    let mut out = Vec::new();
    let mut k = 0;
    while k < ops.len() {
        if ops[k] == Op::Same {
            k += 1;
            continue;
        }
        // A hunk: from `context` before this change to `context` after the last change
        // that is within 2 × context of the previous one.
        let start = k.saturating_sub(context);
        let mut end = k;
        let mut scan = k;
        while scan < ops.len() {
            if ops[scan] != Op::Same {
                end = scan + 1;
                scan += 1;
            } else if scan - end < 2 * context {
                scan += 1;
            } else {
                break;
            }
        }
        let stop = (end + context).min(ops.len());
        let (old_start, new_start) = positions[start];
        let (old_end, new_end) = positions[stop];
        out.push(DiffLine::Hunk(format!(
            "@@ -{},{} +{},{} @@",
            old_start + usize::from(old_end > old_start),
            old_end - old_start,
            new_start + usize::from(new_end > new_start),
            new_end - new_start
        )));
        for (op, &(oi, nj)) in ops[start..stop].iter().zip(&positions[start..stop]) {
            out.push(match op {
                Op::Same => DiffLine::Context(old[oi]),
                Op::Del => DiffLine::Removed(old[oi]),
                Op::Ins => DiffLine::Added(new[nj]),
            });
        }
        k = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(old: &str, new: &str) -> String {
        let (a, b) = (lines(old.as_bytes()), lines(new.as_bytes()));
        unified(&a, &b, 1)
            .iter()
            .map(|l| match l {
                DiffLine::Hunk(h) => h.clone(),
                DiffLine::Context(t) => format!(" {}", String::from_utf8_lossy(t)),
                DiffLine::Removed(t) => format!("-{}", String::from_utf8_lossy(t)),
                DiffLine::Added(t) => format!("+{}", String::from_utf8_lossy(t)),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn unified_hunks_match_diff_u1() {
        assert_eq!(
            render("a\nb\nc\nd\ne\nf\ng\n", "a\nB\nc\nd\ne\nf\nG\n"),
            "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -6,2 +6,2 @@\n f\n-g\n+G"
        );
        assert_eq!(render("x\n", "x\n"), "");
        assert_eq!(render("", "new\n"), "@@ -0,0 +1,1 @@\n+new");
    }
}
