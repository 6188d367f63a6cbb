//! Encoding text into L2-normalised vectors.
