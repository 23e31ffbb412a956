//! The one way every view writes a size: SI units as dive's go-humanize prints them
//! (`12 MB` = 12 × 10^6), through bytesize.

/// `999 B`, `1.0 kB`, `4.1 kB`, `12.3 MB`.
pub fn human(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

/// A size delta: `+1.2 MB`, `-10 B`, and `0 B` for no change.
pub fn signed(delta: i64) -> String {
    match delta.signum() {
        1 => format!("+{}", human(delta.unsigned_abs())),
        -1 => format!("-{}", human(delta.unsigned_abs())),
        _ => "0 B".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{human, signed};

    #[test]
    fn si_units_with_one_decimal() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1000), "1.0 kB");
        assert_eq!(human(4096), "4.1 kB");
        assert_eq!(human(12_345_678), "12.3 MB");
    }

    #[test]
    fn deltas_carry_their_sign() {
        assert_eq!(signed(1_200_000), "+1.2 MB");
        assert_eq!(signed(-10), "-10 B");
        assert_eq!(signed(0), "0 B");
        assert_eq!(signed(i64::MIN), "-9.2 EB");
    }
}
