//! History entries and the Dockerfile instructions they stand for. (Being written.)
