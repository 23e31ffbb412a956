//! The one way every view writes a size: SI units as dive's go-humanize prints them
//! (`12 MB` = 12 × 10^6), through bytesize.

/// `999 B`, `1.0 kB`, `4.1 kB`, `12.3 MB`.
pub fn human(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn si_units_with_one_decimal() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1000), "1.0 kB");
        assert_eq!(human(4096), "4.1 kB");
        assert_eq!(human(12_345_678), "12.3 MB");
    }
}
