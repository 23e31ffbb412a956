//! CI mode: rules, their config (with `.dive-ci` compatibility) and reporters. (Being written.)
