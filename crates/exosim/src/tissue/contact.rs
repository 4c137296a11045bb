//! Part of the tissue engine.
