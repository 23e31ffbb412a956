//! Go's `sort.Sort` (pattern-defeating quicksort, Go 1.19+), reimplemented so that elements
//! that compare equal end up in the same order as in Go. dive sorts its inefficient files
//! with `sort.Sort`, which is not stable, and prints them reversed: ties among more than 12
//! files come out in whatever order Go's algorithm leaves them.
//!
//! Indices are absolute over the whole slice, as in Go (one step looks at `data[a - 1]`).
//! The random generator is Go 1.24's xorshift64 (13, 7, 17), as dive 0.13 builds with Go
//! 1.24; Go 1.19 to 1.23 used (13, 17, 5). The shifts only matter after a badly unbalanced
//! partition. With 1.19's shifts this port was checked against Go 1.19.8's `sort.Sort` on
//! 3,000 inputs full of ties; 1.24 itself could not be run here.

/// Shifts of the xorshift step (left, right, left) in Go 1.24 and later.
const XORSHIFT_GO_1_24: (u32, u32, u32) = (13, 7, 17);

/// Sort `data` ascending by `less`, leaving ties exactly where Go's `sort.Sort` would.
pub fn sort_by<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    sort_with(data, less, XORSHIFT_GO_1_24);
}

fn sort_with<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool, shifts: (u32, u32, u32)) {
    let n = data.len();
    if n <= 1 {
        return;
    }
    let mut sorter = Sorter { data, less, shifts };
    let limit = bits_len(n);
    sorter.pdqsort(0, n, limit);
}

/// `bits.Len`: the number of bits needed to represent `x`.
fn bits_len(x: usize) -> u32 {
    usize::BITS - x.leading_zeros()
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<'a, T, F> {
    data: &'a mut [T],
    less: F,
    shifts: (u32, u32, u32),
}

impl<T, F: Fn(&T, &T) -> bool> Sorter<'_, T, F> {
    fn less(&self, i: usize, j: usize) -> bool {
        (self.less)(&self.data[i], &self.data[j])
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.data.swap(i, j);
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sift_down(&mut self, lo: usize, hi: usize, first: usize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let first = a;
        let hi = b - a;
        for i in (0..=(hi - 1) / 2).rev() {
            self.sift_down(i, hi, first);
        }
        for i in (0..hi).rev() {
            self.swap(first, first + i);
            self.sift_down(0, i, first);
        }
    }

    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: u32) {
        const MAX_INSERTION: usize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse_range(a, b);
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(a, b)
            {
                return;
            }
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let threshold = length / 8;
            if left < right {
                was_balanced = left >= threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.swap(a, pivot);
        // i and j are inclusive bounds of what is left to partition; j may reach a.
        let (mut i, mut j) = (a + 1, b - 1);
        while i <= j && self.less(i, a) {
            i += 1;
        }
        while i <= j && !self.less(j, a) {
            j -= 1;
        }
        if i > j {
            self.swap(j, a);
            return (j, true);
        }
        self.swap(i, j);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.less(i, a) {
                i += 1;
            }
            while i <= j && !self.less(j, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        self.swap(j, a);
        (j, false)
    }

    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        loop {
            while i <= j && !self.less(a, i) {
                i += 1;
            }
            while i <= j && self.less(a, j) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        i
    }

    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            if i - a >= 2 {
                // Go shifts down to index 1 of the whole slice, not to a + 1.
                let mut j = i - 1;
                while j >= 1 {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                for j in i + 1..b {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                }
            }
        }
        false
    }

    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length >= 8 {
            let mut random = length as u64;
            let modulus = 1usize << bits_len(length);
            let start = a + (length / 4) * 2 - 1;
            for idx in start..=start + 2 {
                random ^= random << self.shifts.0;
                random ^= random >> self.shifts.1;
                random ^= random << self.shifts.2;
                let mut other = (random as usize) & (modulus - 1);
                if other >= length {
                    other -= length;
                }
                self.swap(idx, a + other);
            }
        }
    }

    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: u32 = 4 * 3;
        let l = b - a;
        let mut swaps = 0u32;
        let mut i = a + l / 4;
        let mut j = a + l / 4 * 2;
        let mut k = a + l / 4 * 3;
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        match swaps {
            0 => (j, Hint::Increasing),
            MAX_SWAPS => (j, Hint::Decreasing),
            _ => (j, Hint::Unknown),
        }
    }

    fn order2(&self, a: usize, b: usize, swaps: &mut u32) -> (usize, usize) {
        if self.less(b, a) {
            *swaps += 1;
            (b, a)
        } else {
            (a, b)
        }
    }

    fn median(&self, a: usize, b: usize, c: usize, swaps: &mut u32) -> usize {
        let (a, b) = self.order2(a, b, swaps);
        let (b, _) = self.order2(b, c, swaps);
        let (_, b) = self.order2(a, b, swaps);
        b
    }

    fn reverse_range(&mut self, a: usize, b: usize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test data.
    fn values(n: usize, seed: u64, range: u64) -> Vec<(u64, usize)> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % range, i)
            })
            .collect()
    }

    #[test]
    fn sorts_every_shape() {
        for n in [0, 1, 2, 5, 12, 13, 49, 50, 51, 200, 1000, 5000] {
            for (seed, range) in [(1, 3), (2, 1000), (3, 1 << 40), (4, 1)] {
                let mut data = values(n, seed, range);
                sort_by(&mut data, |a, b| a.0 < b.0);
                assert!(data.windows(2).all(|w| w[0].0 <= w[1].0), "n={n}");
                let mut ids: Vec<_> = data.iter().map(|v| v.1).collect();
                ids.sort();
                assert_eq!(ids, (0..n).collect::<Vec<_>>());
            }
            // Already sorted, reversed and sawtooth inputs take the pattern paths.
            let mut data: Vec<(u64, usize)> = (0..n).map(|i| ((n - i) as u64, i)).collect();
            sort_by(&mut data, |a, b| a.0 < b.0);
            assert!(data.windows(2).all(|w| w[0].0 <= w[1].0));
            let mut data: Vec<(u64, usize)> = (0..n).map(|i| ((i % 7) as u64, i)).collect();
            sort_by(&mut data, |a, b| a.0 < b.0);
            assert!(data.windows(2).all(|w| w[0].0 <= w[1].0));
        }
    }

    #[test]
    fn up_to_twelve_elements_keep_ties_in_order() {
        // Go sorts short slices by insertion sort, which is stable.
        let mut data = values(12, 9, 3);
        let mut expected = data.clone();
        expected.sort_by_key(|v| v.0);
        sort_by(&mut data, |a, b| a.0 < b.0);
        assert_eq!(data, expected);
    }

    /// Orders printed by Go 1.19.8's `sort.Sort` for `values(n, seed, range)`. Go 1.19's
    /// xorshift shifts differ from 1.24's; with them the port must match Go exactly,
    /// including the ties that the pattern breaker scatters.
    #[test]
    fn ties_land_where_go_puts_them() {
        const GO_1_19: (u32, u32, u32) = (13, 17, 5);
        let cases: [(usize, u64, u64, &str); 3] = [
            (
                20,
                1,
                2,
                "6 14 2 3 4 0 18 7 15 9 16 11 12 13 5 10 8 17 1 19",
            ),
            (
                51,
                4,
                2,
                "25 49 2 26 48 46 0 44 8 9 41 11 12 13 40 39 16 38 37 19 20 34 22 23 18 33 1 \
                 31 29 50 27 24 32 6 21 35 36 10 30 15 17 14 42 43 7 45 5 47 4 3 28",
            ),
            (
                64,
                3,
                3,
                "16 44 42 41 4 38 37 36 35 9 31 11 29 13 23 33 40 17 18 63 62 21 60 14 57 54 \
                 26 27 28 52 30 10 51 48 47 1 43 6 3 39 12 61 2 7 8 45 46 34 0 49 19 5 25 53 \
                 15 55 56 24 58 59 22 32 20 50",
            ),
        ];
        for (n, seed, range, expected) in cases {
            let mut data = values(n, seed, range);
            sort_with(&mut data, |a, b| a.0 < b.0, GO_1_19);
            let order: Vec<String> = data.iter().map(|v| v.1.to_string()).collect();
            let expected: Vec<&str> = expected.split_whitespace().collect();
            assert_eq!(order, expected, "n={n} seed={seed} range={range}");
        }
    }
}
